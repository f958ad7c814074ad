"""SMPP 3.4: an ESME that submits over kept binds and takes delivery receipts."""
