"""What the command lines under models/ share: argument parsing with one-line errors, run
folders with atomic checkpoints and resume, metrics files, progress bars and plots."""
