"""edgerppg: take heart-rate-from-video models (STVEN, rPPGNet) to the edge.

Importing the package is cheap: heavy dependencies (torch, onnxruntime, tensorrt, cv2, matplotlib)
are imported inside the functions that need them.
"""

__version__ = "0.1.0"
