"""PyTorch pieces of the neural families: networks, windows, losses, the training loop and its
checkpoints. Modules here import torch at their top, so only ``models/`` functions import them,
and only when a neural family actually fits or predicts."""
