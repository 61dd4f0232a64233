"""HubSpot sensors."""
