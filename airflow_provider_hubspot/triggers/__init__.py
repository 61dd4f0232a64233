"""HubSpot triggers."""
