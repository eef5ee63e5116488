"""Auth — accounts, roles, jurisdiction scope, tokens."""
