"""The messaging tables' migration steps, shared by every context's history."""
