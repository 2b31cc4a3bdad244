"""`edgerppg hr`: heart rate of one video (file, growing file or camera) with a classical method or a model."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.text import Text

from edgerppg.atomic import atomic_path
from edgerppg.checks import PNG_SOFTWARE, check_number, check_output, check_window
from edgerppg.cli.app import (Band, Estimator, Overwrite, Step, Window, app, console, err_console, model_path,
                              print_json)
from edgerppg.data.sources import is_url, source_spec
from edgerppg.errors import EdgeRPPGError, require
from edgerppg.predict.live import live_hr
from edgerppg.predict.predictors import ClassicalPredictor
from edgerppg.predict.video import video_hr
from edgerppg.runtime.predict import load_predictor
from edgerppg.signal.filters import prepare
from edgerppg.signal.hr import power_spectrum


@app.command("hr")
def hr_cmd(
    video: str = typer.Argument(None, help="Video file, or a stream URL (rtsp://, udp://, http://, ...: live); "
                                            "omit with --camera or --follow."),
    method: str = typer.Option("pos", "--method", help="Classical method: pos, chrom or green."),
    model: Path = typer.Option(None, "--model", parser=model_path, help="Checkpoint (.safetensors), export dir or "
                               "shipped weights (cascade-10x, see `edgerppg models`) instead of a method."),
    crop: str = typer.Option("auto", "--crop", help="Face crop: auto (Haar), haar, full (frame is the face), center."),
    window: Window = 10.0,
    step: Step = None,
    band: Band = (0.7, 3.0),
    estimator: Estimator = "welch",
    json_out: bool = typer.Option(False, "--json", help="Print JSON (one object per update when live)."),
    plot: Path = typer.Option(None, "--plot", help="Save the pulse and its spectrum, HR peak marked (PNG)."),
    camera: int = typer.Option(None, "--camera", help="Live: camera index (e.g. 0)."),
    follow: Path = typer.Option(None, "--follow", help="Live: follow a video file that is still being written."),
    duration: float = typer.Option(None, "--duration", help="Live: stop after this many seconds."),
    refresh: float = typer.Option(1.0, "--refresh", help="Live: seconds between HR updates."),
    timeout: float = typer.Option(10.0, "--timeout", help="Live: seconds to wait for the source to open and for each "
                                                           "frame before giving up."),
    overwrite: Overwrite = False,
) -> None:
    """Measure heart rate from a face video: overall HR and per-window HR (or live updates every second).
    A video file without a credible pulse gives no HR and exit code 3."""
    live = camera is not None or follow is not None or (video is not None and is_url(video))
    if (video is not None) + (camera is not None) + (follow is not None) != 1:
        raise EdgeRPPGError("give one source: a VIDEO file or stream URL, --camera N or --follow FILE; "
                            "see edgerppg hr --help")
    if plot is not None:
        check_output(plot, "png", inputs=(video, model), overwrite=overwrite)
        _plot_format(plot)
    check_window(window, step, band)
    check_number(refresh, "--refresh", 0, low_open=True)
    check_number(timeout, "--timeout", 0, low_open=True)
    check_number(duration, "--duration", 0, low_open=True)
    if model is not None:
        predictor = load_predictor(str(model), backend=None, device="cpu")
    else:
        predictor = ClassicalPredictor(method, crop="auto" if live else crop)
    if live:
        source = source_spec(video, camera=camera, follow=follow, duration=duration, open_timeout=timeout,
                             read_timeout=timeout)
        _live(source, predictor, crop, window, refresh, band, estimator, json_out)
        return

    result = video_hr(video, predictor, crop, window, step, band, estimator)
    if plot is not None:
        _save_plot(result, plot)
    pulse = result.pop("pulse")
    result.pop("pulse_fps")
    if json_out:
        print_json(result)
    else:
        _render(result, len(pulse))
    if result["no_pulse"]:
        raise typer.Exit(3)  # no pulse is an answer, not a number: scripts tell it from an HR and from an error


def _render(result: dict, samples: int) -> None:
    from rich.table import Table

    if result["no_pulse"]:
        err_console.print(Text(f"no credible pulse in {result['video']}: {result['no_pulse']}; check that a face "
                               "is in view and lit (exit code 3)"), highlight=False, soft_wrap=True)
    else:
        console.print(
            Text.assemble((f"{result['hr_bpm']:.1f} bpm", "bold"), f"  {result['video']}  method {result['method']}, "
                          f"{result['frames']} frames at {result['fps']:.2f} fps, band {result['band'][0]}-"
                          f"{result['band'][1]} Hz, {result['hr_method']}, SNR {result['snr_db']:.1f} dB"),
            highlight=False)
    table = Table(title=f"HR per {result['window']:g} s window")
    for col in ("start (s)", "end (s)", "HR (bpm)"):
        table.add_column(col, justify="right")
    for w in result["windows"]:
        table.add_row(f"{w['start_s']:.1f}", f"{w['end_s']:.1f}", "no pulse" if w["no_pulse"] else f"{w['hr_bpm']:.1f}")
    console.print(table)


def _live(source, predictor, crop, window, refresh, band, estimator, json_out) -> None:
    for update in live_hr(source, predictor, crop, window, refresh, band, estimator):
        if json_out:
            print(json.dumps(update), flush=True)
        else:
            latency = "-" if update["latency_ms"] is None else f"{update['latency_ms']:.0f}"
            console.print(f"t {update['t_s']:7.1f} s  HR {update['hr_bpm']:6.1f} bpm  SNR {update['snr_db']:5.1f} dB  "
                          f"window {update['window_s']:4.1f} s  {update['fps_processing']:6.1f} fps  latency "
                          f"{latency} ms  dropped {update['frames_dropped']}"
                          f"{'' if update['reliable'] else '  unreliable: no credible pulse'}", highlight=False)


def _save_plot(result: dict, out: Path) -> None:
    """Pulse signal (top) and its power spectrum with the HR peak marked (bottom), like Fig. 2 of Yu et al."""
    import numpy as np

    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pulse, fps, band = result["pulse"], result["pulse_fps"], result["band"]
    freqs, power = power_spectrum(pulse, fps, band, result["hr_method"])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5), constrained_layout=True)
    ax1.plot(np.arange(pulse.size) / fps, prepare(pulse, fps, band), lw=0.8)
    ax1.set(xlabel="time (s)", ylabel="pulse (a.u.)", title=f"{Path(result['video']).name}: {result['method']}")
    ax2.plot(freqs * 60, power / max(float(power.max()), 1e-300), lw=1.0)  # a flat pulse has no power at all
    label = f"HR {result['hr_bpm']:.1f} bpm" if result["hr_bpm"] is not None else "peak (no credible pulse)"
    ax2.axvline(result["peak_bpm"], color="r", ls="--", label=label)
    ax2.set(xlabel="heart rate (bpm)", ylabel="power (norm.)")
    ax2.legend()
    fmt = _plot_format(out)
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=120, metadata={"Software": PNG_SOFTWARE} if fmt == "png" else None)
    finally:
        plt.close(fig)


def _plot_format(out: Path) -> str:
    """The image format of `out`'s suffix (checked before the video is read)."""
    require("matplotlib")
    from matplotlib.backend_bases import FigureCanvasBase

    fmt = (Path(out).suffix or ".png").lstrip(".").lower()
    if fmt not in FigureCanvasBase.get_supported_filetypes():
        raise EdgeRPPGError(f"{out}: cannot save a plot as .{fmt}; use a .png, .svg or .pdf file name")
    return fmt
