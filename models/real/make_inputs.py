#!/usr/bin/python3
"""Builds real inputs for the real-model cases (third_party/real-models/cases/<case>/in_K.npy, K in
graph input order) and the case list. Each case is one model run: the model file and its inputs.

Inputs are real material, preprocessed as each model's own package does:
  OCR detector   scikit-image's scanned page (page.png), ImageNet mean/std, [1,3,H,W], H,W % 32 = 0
  OCR recognizer a text line rendered with DejaVu Sans, (x/255-0.5)/0.5, [1,3,48,320]
  OCR direction  the same line, [1,3,48,192]
  ddddocr OCR    a captcha-like text ("x7kq2m", DejaVu Sans 40 px on 200x64 white), grayscale,
                 (x/255-0.5)/0.5, [1,1,64,200] (height 64 already, so ddddocr's resize is identity);
                 also writes text.txt (the rendered string) and charset.txt (the package's JSON
                 charset, one entry a line, index 0 the CTC blank) for the decoded-text check
  ddddocr det    the astronaut photo letterboxed to 416x416 (pad 114, top-left), RGB, CHW, 0..255
  BlazeFace      scikit-image's astronaut photo (a face), NHWC in [-1,1], 128x128 and 256x256
  Silero VAD     a sentence spoken by espeak-ng, resampled by sox to 16 kHz, the loudest 512-sample
                 chunk (plus 64 samples of context for v5+), zero state, sr=16000
  openWakeWord   "hey jarvis" spoken by espeak-ng: the melspectrogram model on the waveform; stage 2
                 feeds the embedding model with ORT's mel frames (76-frame windows, step 8, mel/10+2
                 as openWakeWord does); stage 3 feeds the wake-word classifiers ORT's last 16
                 embeddings. So the chained inputs are the reference runtime's own intermediate
                 outputs, and every model is checked on what it really sees in its pipeline.
  seq-*, lenet-* the project's own models: the first 8 Fashion-MNIST test images, pixel/255.
Missing material (no espeak-ng/sox, no images) falls back to drawn or synthetic stand-ins with a
note; the comparison against ONNX Runtime stays exact either way.

Usage: make_inputs.py DIR --stage 1|2|3 [--only CASE,...]   (DIR = third_party/real-models).
Prints the cases made; --only makes just those (the others' folders are left as they are).
Must not depend on deepcomp (inputs are for checking it) or on onnxruntime (node does that).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np
import onnx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
OCR_TEXT = "Deep Compression 2016"
DDDD_TEXT = "x7kq2m"
VAD_SENTENCE = "Deep compression prunes the network, shares the weights and codes them."


def note(msg):
    print(f"make_inputs.py: {msg}", file=sys.stderr)


def graph_inputs(model_path):
    m = onnx.load(model_path, load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in init]


ONLY = None  # --only: the set of cases to make (None: all)


def write_case(root, case, model_rel, named_inputs, extra_files=None):
    """Writes cases/<case>/model.txt and in_K.npy in the model's graph input order, and
    extra_files ({name: text}) beside them."""
    if ONLY is not None and case not in ONLY:
        return
    model_path = os.path.join(REPO, model_rel[5:]) if model_rel.startswith("repo:") else os.path.join(root, model_rel)
    if not os.path.isfile(model_path):
        note(f"{case}: {model_path} is absent; skipped")
        return
    names = graph_inputs(model_path)
    if sorted(names) != sorted(named_inputs):
        raise SystemExit(f"{case}: model inputs {names} != provided {sorted(named_inputs)}")
    d = os.path.join(root, "cases", case)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "model.txt"), "w") as f:
        f.write(model_path + "\n")
    for k, name in enumerate(names):
        np.save(os.path.join(d, f"in_{k}.npy"), np.array(named_inputs[name], order="C"))  # keeps 0-d
    for name, text in (extra_files or {}).items():
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(text)
    print(case)


# ---- images ---------------------------------------------------------------------------------

def load_image(root, name, fallback):
    from PIL import Image
    path = os.path.join(root, "images", name)
    if os.path.isfile(path):
        return Image.open(path).convert("RGB")
    note(f"{path} absent (scripts/fetch-real-models.sh gets it); using a drawn stand-in")
    return fallback()


def drawn_page():
    from PIL import Image, ImageDraw, ImageFont
    im = Image.new("RGB", (384, 192), "white")
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(FONT, 18) if os.path.isfile(FONT) else ImageFont.load_default()
    for k, line in enumerate(["Deep Compression: Compressing", "Deep Neural Networks with",
                              "Pruning, Trained Quantization", "and Huffman Coding"]):
        draw.text((12, 16 + 40 * k), line, fill="black", font=font)
    return im


def drawn_face():
    from PIL import Image, ImageDraw
    im = Image.new("RGB", (512, 512), (90, 120, 160))
    draw = ImageDraw.Draw(im)
    draw.ellipse((150, 100, 360, 380), fill=(225, 185, 160))
    draw.ellipse((200, 190, 230, 215), fill="black")
    draw.ellipse((280, 190, 310, 215), fill="black")
    draw.arc((210, 270, 300, 330), 0, 180, fill="black", width=6)
    return im


def text_line(width, text=OCR_TEXT):
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(FONT, 26) if os.path.isfile(FONT) else ImageFont.load_default()
    im = Image.new("RGB", (width, 48), "white")
    ImageDraw.Draw(im).text((4, 9), text, fill="black", font=font)
    return im


def captcha_text(text=DDDD_TEXT):
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(FONT, 40) if os.path.isfile(FONT) else ImageFont.load_default()
    im = Image.new("RGB", (200, 64), "white")
    ImageDraw.Draw(im).text((8, 8), text, fill="black", font=font)
    return im


def letterbox(im, size, pad=114):
    """YOLOX's preprocessing (ddddocr's detector): scale to fit size x size keeping the aspect
    ratio, bilinear, placed top-left on a pad-valued canvas; RGB CHW float 0..255."""
    from PIL import Image
    r = min(size / im.height, size / im.width)
    w, h = int(im.width * r), int(im.height * r)
    canvas = np.full((size, size, 3), pad, np.float32)
    canvas[:h, :w] = np.asarray(im.resize((w, h), Image.BILINEAR), np.float32)
    return canvas.transpose(2, 0, 1)[None].copy()


def dddd_charset(root, name):
    """The package's charset (a JSON list) as one entry a line, for the C++ test to decode with."""
    import json
    path = os.path.join(root, "ddddocr", name)
    if not os.path.isfile(path):
        return None
    chars = json.load(open(path, encoding="utf-8"))
    if any("\n" in c or "\r" in c for c in chars):
        raise SystemExit(f"{path}: an entry holds a line break; charset.txt cannot list it")
    return "\n".join(chars) + "\n"


def chw(im):
    return np.asarray(im, dtype=np.float32).transpose(2, 0, 1)[None] / np.float32(255)


def stage1(root):
    from PIL import Image
    page = load_image(root, "page.png", drawn_page).resize((384, 192), Image.BILINEAR)
    mean = np.array([0.485, 0.456, 0.406], np.float32)[None, :, None, None]
    std = np.array([0.229, 0.224, 0.225], np.float32)[None, :, None, None]
    write_case(root, "ocr_det", "ocr/ch_PP-OCRv4_det_infer.onnx", {"x": (chw(page) - mean) / std})
    write_case(root, "ocr_rec", "ocr/ch_PP-OCRv4_rec_infer.onnx", {"x": (chw(text_line(320)) - 0.5) / 0.5})
    write_case(root, "ocr_cls", "ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx",
               {"x": (chw(text_line(384).resize((192, 48), Image.BILINEAR)) - 0.5) / 0.5})

    gray = np.asarray(captcha_text().convert("L"), np.float32)[None, None] / np.float32(255)
    for case, onnx_name, json_name in [("dddd_ocr", "common.onnx", "common.json"),
                                       ("dddd_ocr_q", "common_old.onnx", "common_old.json")]:
        # Without DejaVu the stand-in bitmap font is not expected to be read: no text check then.
        charset = dddd_charset(root, json_name) if os.path.isfile(FONT) else None
        write_case(root, case, f"ddddocr/{onnx_name}", {"input1": (gray - 0.5) / 0.5},
                   {"text.txt": DDDD_TEXT + "\n", "charset.txt": charset} if charset else None)

    face = load_image(root, "astronaut.png", drawn_face)
    write_case(root, "dddd_det", "ddddocr/common_det.onnx", {"images": letterbox(face, 416)})
    for size, case, f in [(128, "blazeface_front", "face_detection_front_128x128_barracuda.onnx"),
                          (256, "blazeface_back", "face_detection_back_256x256_barracuda.onnx")]:
        x = np.asarray(face.resize((size, size), Image.BILINEAR), np.float32)[None] / np.float32(127.5) - 1
        write_case(root, case, f"blazeface/{f}", {"input:0": x.astype(np.float32)})

    speech = speak(VAD_SENTENCE)
    start = loudest_chunk(speech, 512)
    chunk = speech[start - 64:start + 512][None].astype(np.float32)  # 64 samples of context (v5+)
    sr = np.array(16000, np.int64)
    state = np.zeros((2, 1, 128), np.float32)
    write_case(root, "silero_v6", "silero/silero_vad.onnx", {"input": chunk, "state": state, "sr": sr})
    write_case(root, "silero_op18_ifless", "silero/silero_vad_op18_ifless.onnx",
               {"input": chunk, "state": state, "sr": sr})
    write_case(root, "silero_16k_op15", "silero/silero_vad_16k_op15.onnx",
               {"input": chunk, "state": state, "sr": sr})
    hc = np.zeros((2, 1, 64), np.float32)
    write_case(root, "silero_v4", "openwakeword/silero_vad.onnx",
               {"input": speech[start:start + 512][None].astype(np.float32), "sr": sr, "h": hc, "c": hc})

    # openWakeWord feeds int16-range samples; 2 s of audio gives the 16 embeddings it classifies.
    jarvis = speak("hey jarvis")
    audio = np.zeros(32000 + 1280 * 4, np.float32)
    audio[4000:4000 + min(len(jarvis), 28000)] = jarvis[:28000] * 32767
    write_case(root, "oww_melspectrogram", "openwakeword/melspectrogram.onnx", {"input": audio[None]})

    images = fashion_images(8)
    for name in ["seq-transformer", "seq-lstm", "lenet-300-100", "lenet-5"]:
        write_case(root, name, f"repo:models/{name}.onnx", {"input": images})


def stage2(root):
    mel_out = os.path.join(root, "cases", "oww_melspectrogram", "ort_0.npy")
    if not os.path.isfile(mel_out):
        note("oww_melspectrogram has no ORT output yet; stage 2 skipped")
        return
    mel = np.load(mel_out).reshape(-1, 32) / np.float32(10) + np.float32(2)  # openWakeWord's scaling
    windows = np.stack([mel[s:s + 76] for s in range(0, mel.shape[0] - 76 + 1, 8)])[..., None]
    write_case(root, "oww_embedding", "openwakeword/embedding_model.onnx", {"input_1": windows.astype(np.float32)})


def stage3(root):
    emb_out = os.path.join(root, "cases", "oww_embedding", "ort_0.npy")
    if not os.path.isfile(emb_out):
        note("oww_embedding has no ORT output yet; stage 3 skipped")
        return
    emb = np.load(emb_out).reshape(-1, 96)
    if emb.shape[0] < 16:
        raise SystemExit(f"only {emb.shape[0]} embeddings; need 16")
    last16 = emb[-16:][None].astype(np.float32)
    write_case(root, "oww_hey_jarvis", "openwakeword/hey_jarvis_v0.1.onnx", {"x.1": last16})
    write_case(root, "oww_alexa", "openwakeword/alexa_v0.1.onnx", {"onnx::Flatten_0": last16})


# ---- audio and data -------------------------------------------------------------------------

def speak(text):
    """16 kHz mono float in [-1, 1]: espeak-ng's voice through sox, or a synthetic stand-in."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak and sox:
        with tempfile.TemporaryDirectory() as tmp:
            raw, wav = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "16k.wav")
            subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", raw, text], check=True)
            subprocess.run([sox, raw, "-r", "16000", "-c", "1", "-b", "16", wav], check=True)
            with wave.open(wav) as w:
                pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
            return pcm.astype(np.float32) / np.float32(32768)
    note("espeak-ng or sox is absent (apt-get install espeak-ng sox); using a synthetic vowel")
    t = np.arange(16000 * 2) / 16000.0
    f0 = 120 + 20 * np.sin(2 * np.pi * 3 * t)
    sig = sum(np.sin(2 * np.pi * np.cumsum(f0) / 16000 * h) / h for h in range(1, 12))
    return (0.3 * sig / np.abs(sig).max()).astype(np.float32)


def loudest_chunk(x, n):
    energy = [float(np.sum(x[s:s + n] ** 2)) for s in range(64, len(x) - n, n)]
    return 64 + n * int(np.argmax(energy))


def fashion_images(n):
    sys.path.insert(0, os.path.join(REPO, "models"))
    from train import read_idx
    return (read_idx(FASHION)[:n].astype(np.float32) / np.float32(255)).reshape(n, 1, 28, 28)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--stage", type=int, choices=[1, 2, 3], required=True)
    p.add_argument("--only", default="", help="comma-separated cases to make (default: all)")
    a = p.parse_args()
    global ONLY
    ONLY = set(a.only.split(",")) if a.only else None
    {1: stage1, 2: stage2, 3: stage3}[a.stage](a.dir)


if __name__ == "__main__":
    main()
