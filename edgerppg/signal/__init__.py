"""signal stage of the edgerppg pipeline (see docs/ARCHITECTURE.md): pure functions, fps always explicit.

- `filters`: smoothness-priors detrend, zero-phase Butterworth band-pass.
- `hr`: `heart_rate`, `sliding_hr`, `snr`, `power_spectrum` (estimators registered in `hr.ESTIMATORS`).
- `metrics`: `hr_metrics` (MAE, RMSE, MAPE, r, within5, SD, n).
- `classical`: GREEN, CHROM, POS in the `METHODS` registry.
- `rgb`: `mean_rgb` of face pixels.
"""
