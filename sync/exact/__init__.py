"""Exact Online: OAuth, tokens, the REST client, entities and cached lookups."""
