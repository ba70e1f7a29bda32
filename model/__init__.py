"""Training, evaluation and export of the digit classifier (see generator.py)."""
