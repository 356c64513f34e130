"""What-if scenarios: changes to the business, tripwire pricing."""
