"""Training in the window: the training dock, the worker that runs the trainer off the GUI
thread, and the dialogs that choose what to train on (such as importing a CSV data set)."""
