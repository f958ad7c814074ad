"""Small tools every layer may use, knowing nothing of SMS or accounts."""
