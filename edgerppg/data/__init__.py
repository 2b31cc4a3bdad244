"""data stage: synthetic videos with ground truth, dataset readers, video I/O, face crop, skin masks, clips."""

from edgerppg.data.readers import READERS, load_dataset
from edgerppg.data.recording import Recording

__all__ = ["READERS", "Recording", "load_dataset"]
