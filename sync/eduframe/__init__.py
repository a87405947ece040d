"""Eduframe: the REST client, entities and OAuth."""
