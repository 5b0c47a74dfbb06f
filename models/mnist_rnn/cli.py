"""python -m models.mnist_rnn {train,evaluate,predict}: the book's MNIST RNNs from the shell."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn.data import load_dataset, to_pixels

from ..common.cli import Parser, add_device_option, add_eager_option, positive, run_command
from ..common.runs import check_run_folder
from .networks import MODELS
from .training import Config, confusion_matrix, load_trained, predict_classes, train


def build_parser() -> Parser:
    parser = Parser(prog="python -m models.mnist_rnn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = commands.add_parser("train", help="train a model (the book's settings by default)")
    run.add_argument("--model", choices=MODELS, default="basic", help="which of the book's models")
    run.add_argument("--epochs", type=positive(int), default=10, help="passes over the data")
    run.add_argument("--batch-size", type=positive(int), default=150, help="images per step")
    run.add_argument("--lr", type=positive(float), default=1e-3, help="Adam's learning rate")
    run.add_argument("--seed", type=int, default=42, help="initial weights and batch order")
    run.add_argument(
        "--limit",
        type=positive(int),
        default=None,
        help="train on the first N training images only, for a quick look",
    )
    run.add_argument(
        "--resume", action="store_true", help="continue the run in --out exactly where it stopped"
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_eager_option(run)
    run.add_argument("--jit", action="store_true", help=argparse.SUPPRESS)  # now the default
    run.add_argument(
        "--distributed",
        action="store_true",
        help="data parallel over the ranks of mpiexec -n N; --batch-size stays the global batch",
    )
    for command in (
        run,
        commands.add_parser("evaluate", help="accuracy and confusion matrix"),
        commands.add_parser("predict", help="classify PNG files or dataset indices"),
    ):
        add_device_option(command)
        command.add_argument(
            "--dataset", choices=("mnist", "fashion-mnist"), default="mnist", help="which images"
        )
        command.add_argument(
            "--out", default=None, help="the run's folder (default runs/DATASET-MODEL)"
        )
    evaluate, predict = commands.choices["evaluate"], commands.choices["predict"]
    for command in (evaluate, predict):
        command.add_argument(
            "--model", choices=MODELS, default="basic", help="picks the default --out folder"
        )
    evaluate.add_argument("--split", choices=("test", "train"), default="test")
    predict.add_argument(
        "items",
        nargs="+",
        metavar="PNG_OR_INDEX",
        help="28x28 grayscale PNG files, or indices into the test split",
    )
    predict.add_argument(
        "--invert", action="store_true", help="the PNGs are dark digits on a light background"
    )
    return parser


def run_folder(args) -> Path:
    return Path(args.out or f"runs/{args.dataset}-{args.model}")


def command_train(args) -> None:
    check_run_folder(run_folder(args), args.resume)
    config = Config(
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        device=args.device,
        seed=args.seed,
        dataset=args.dataset,
        limit=args.limit,
        out=str(run_folder(args)),
        progress=not args.no_progress,
        resume=args.resume,
        jit=not args.eager,
        distributed=args.distributed,
    )
    history = train(config)
    if history:
        print(
            f"test accuracy {history[-1]['test_accuracy']:.4f}; metrics and plots in {config.out}"
        )


def command_evaluate(args) -> None:
    model, config = load_trained(run_folder(args), args.device)
    images, labels = load_dataset(config.dataset, args.split)
    predictions = predict_classes(model, images, args.device)
    print(
        f"{config.model} on {config.dataset} {args.split}: accuracy "
        f"{(predictions == labels).mean():.4f} ({len(labels)} images)"
    )
    matrix = confusion_matrix(labels, predictions)
    print("confusion matrix (rows: true class, columns: predicted)")
    print("      " + "".join(f"{c:>6d}" for c in range(10)))
    for true, row in enumerate(matrix):
        print(f"{true:>6d}" + "".join(f"{count:>6d}" for count in row))


def read_png(path: str, invert: bool) -> np.ndarray:
    import matplotlib.image
    from PIL import UnidentifiedImageError

    try:
        pixels = matplotlib.image.imread(path)
    except (UnidentifiedImageError, SyntaxError) as error:  # PIL's two ways to say "not an image"
        raise ValueError(f"{path} is not a PNG image ({error})") from None
    if pixels.ndim == 3:  # RGB(A): average the colour channels
        pixels = pixels[..., :3].mean(axis=2)
    if pixels.shape != (28, 28):
        raise ValueError(f"{path}: expected a 28x28 image, got {pixels.shape[1]}x{pixels.shape[0]}")
    pixels = pixels.astype(np.float32)
    if pixels.max() > 1:
        pixels /= 255
    return np.round((1 - pixels if invert else pixels) * 255).astype(np.uint8)


def command_predict(args) -> None:
    model, config = load_trained(run_folder(args), args.device)
    test_images, test_labels = None, None
    images, names = [], []
    for item in args.items:
        if item.isdigit():
            if test_images is None:
                test_images, test_labels = load_dataset(config.dataset, "test")
            if int(item) >= len(test_images):
                raise ValueError(
                    f"index {item} is outside the test split (0..{len(test_images) - 1})"
                )
            images.append(test_images[int(item)])
            names.append(f"test[{item}] (label {test_labels[int(item)]})")
        else:
            images.append(read_png(item, args.invert))
            names.append(item)
    model.eval()
    with tg.no_grad():
        pixels = tg.as_tensor(to_pixels(np.stack(images)), device=args.device)
        probabilities = tg.F.softmax(model(pixels), dim=1).detach().cpu().numpy()
    for name, p in zip(names, probabilities):
        print(f"{name}: {int(p.argmax())} ({p.max():.1%})")


COMMANDS = {"train": command_train, "evaluate": command_evaluate, "predict": command_predict}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(COMMANDS[args.command], args)
