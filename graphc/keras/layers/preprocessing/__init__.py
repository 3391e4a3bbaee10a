"""Image preprocessing layers of the Keras tutorials: Rescaling, Resizing, CenterCrop and the
data-augmentation layers (RandomFlip, RandomRotation, ...), identities at inference."""
