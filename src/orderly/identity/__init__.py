"""Identity: users, organisations, sessions, signing keys and the tokens they sign."""
