"""The database side of the connections to Exact Online and Eduframe: what the HTTP clients receive."""
