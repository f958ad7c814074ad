"""The web panel for account users and the operator: server-rendered, Persian and English."""
