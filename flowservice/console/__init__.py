"""The web console at ``/console``: server-rendered pages over the API's own functions."""
