"""HubSpot hooks."""
