"""Working bodies, their meetings and decisions, and public consultations."""
