"""predict stage: heart rate from video with a classical method or a model, and how accurate it is.

- predictors.py  ClassicalPredictor (GREEN/CHROM/POS), ModelPredictor (clips -> infer -> overlap-add)
- evaluate.py    per-window and per-recording HR error against ground truth (`edgerppg eval`, bench, training)
- video.py       HR of one video file (`edgerppg hr FILE`)
- live.py        sliding-window HR over a camera or a growing file (`edgerppg hr --camera/--follow`)

Sits between signal/models and train: training, pruning, the runtime, bench and the CLI import it; it never
imports torch (a model reaches it as an `infer` closure).
"""
