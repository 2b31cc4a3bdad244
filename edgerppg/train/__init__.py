"""train stage of the edgerppg pipeline: losses, objectives and the training loop (Yu et al., ICCV 2019).

- objectives.py  `objective(model)`: a model's training loss (also used by SNIP and fine-tuning)
- loop.py        `fit`: the training / fine-tuning loop (resumable, deterministic, DDP)
- run.py         `train_model`: the `edgerppg train` command's one library call
- kinds.py       `KINDS`: what `edgerppg train` trains (rppgnet, stven, joint); imports no torch
"""
