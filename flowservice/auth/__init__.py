"""Identity: access tokens (JWT), API clients, orgs and sandboxes."""
