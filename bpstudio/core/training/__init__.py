"""Training: data sets, optimizers, the Trainer and its history. Uses the kernel; never
imports ``files``."""
