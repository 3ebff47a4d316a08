"""Write models/MODEL_CARD.md from the manifest and the evaluation report (all numbers come from measurements)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.model.classifier import ModelManifest
from core.training.dataset import CLASSES

SHOWN_SETTINGS = ("phases", "lr", "weight_decay", "label_smoothing", "dropout", "seed", "init", "bf16")


def percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def metrics_table(metrics: dict[str, Any]) -> str:
    low, high = metrics["accuracy_95ci"]
    lines = [f"Accuracy **{percent(metrics['accuracy'])}** ({metrics['correct']}/{metrics['images']}; 95% Wilson "
             f"interval {percent(low)}–{percent(high)}); tumours called \"no tumour\": "
             f"**{metrics['tumours_called_notumor']}**.", "",
             "| class | precision | recall | F1 | AUC (one-vs-rest) | images |", "|---|---|---|---|---|---|"]
    for name in CLASSES:
        row = metrics["per_class"][name]
        lines.append(f"| {name} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {row['auc']:.4f} | "
                     f"{row['support']} |")
    lines += ["", "Confusion matrix (rows true, columns predicted, order " + ", ".join(CLASSES) + "):", "", "```"]
    lines += ["  ".join(f"{count:5d}" for count in row) for row in metrics["confusion"]]
    return "\n".join(lines + ["```"])


def ood_table(ood: dict[str, Any]) -> str:
    lines = ["| kind | images | rejected | of which by input checks |", "|---|---|---|---|"]
    for kind, entry in ood["non_mri_by_kind"].items():
        lines.append(f"| {kind} | {entry['images']} | {entry['rejected']} | {entry['by_input_checks']} |")
    return "\n".join(lines)


def measure(entry: dict[str, Any]) -> str:
    """'61/79 = 77.2% (66.8–85.1%)' from an `external.share` entry."""
    if not entry["of"]:
        return "–"
    low, high = entry["ci95"]
    return f"{entry['count']}/{entry['of']} = {percent(entry['share'])} ({percent(low)}–{percent(high)})"


def external_rows(name: str, groups: dict[str, Any]) -> list[str]:
    """Table rows: per class of a group, detection / typing or specificity, and confident misses."""
    rows = []
    for class_name, entry in groups.items():
        if "specificity" in entry:
            rows.append(f"| {name} | {class_name} | {entry['images']} | specificity {measure(entry['specificity'])} | "
                        f"– | – |")
        else:
            missed = entry["missed_as_notumor_confidence"]
            confidence = (f"{missed['count']} (median {missed['median']:.2f}, ≥ 0.9: {missed['at_least_0.9']})"
                          if missed["count"] else "0")
            rows.append(f"| {name} | {class_name} | {entry['images']} | {measure(entry['detection'])} | "
                        f"{measure(entry['typing'])} | {confidence} |")
    return rows


def external_section(report: dict[str, Any]) -> str:
    external = report.get("external", {})
    if not external:
        return "No evaluation-only external set was present when this card was generated."
    header = ["| group | class | images | detection (tumour found) / specificity | typing (right class) | "
              "called \"no tumour\" (confidence) |", "|---|---|---|---|---|---|"]
    parts = []
    for set_name, result in external.items():
        rows = external_rows("all", result["overall"])
        for key in ("by_sequence", "by_plane"):
            for value, groups in result[key].items():
                rows += external_rows(f"{key[3:]} {value}", groups)
        parts += [f"### `{set_name}` ({result['images']} images; {result.get('ood_rejected', 0)} would be refused by "
                  "the OOD gate, counted here with the class the network gave)", "", *header, *rows, ""]
    return "\n".join(parts)


def recipes_section(report: dict[str, Any]) -> str:
    """One row per recipe tried for this release: its figures on each external set, overall."""
    recipes = report.get("compared_recipes")
    if not recipes:
        return "No other recipe was recorded for this release."
    lines = ["| recipe | validation accuracy | set | glioma detection | glioma typing | no-tumour specificity | "
             "gliomas called \"no tumour\" (≥ 0.9) |", "|---|---|---|---|---|---|---|"]
    for recipe in recipes:
        for set_name, result in recipe["external"].items():
            glioma, notumor = result["overall"]["glioma"], result["overall"]["notumor"]
            missed = glioma["missed_as_notumor_confidence"]
            lines.append(f"| **{recipe['name']}**: {recipe['description']} | {percent(recipe['validation_accuracy'])} "
                         f"| `{set_name}` | {measure(glioma['detection'])} | {measure(glioma['typing'])} | "
                         f"{measure(notumor['specificity'])} | {missed['count']} ({missed['at_least_0.9']}) |")
    return "\n".join(lines)


def stress_section(report: dict[str, Any]) -> str:
    stress = report.get("stress")
    if not stress:
        return "Not measured."
    lines = [f"On {stress['images']} Testing images ({stress['subset']}); clean accuracy "
             f"**{percent(stress['clean_accuracy'])}**. Goal: every drop within 3 points.", "",
             "| degradation | accuracy | drop (points) | tumours called \"no tumour\" |", "|---|---|---|---|"]
    for name, entry in stress["tests"].items():
        lines.append(f"| {name} | {percent(entry['accuracy'])} | {entry['drop_points']:+.2f} | "
                     f"{entry['tumours_called_notumor']} |")
    return "\n".join(lines)


def training_section(manifest: ModelManifest) -> str:
    training = manifest.training
    if not training.get("command"):
        return f"Training log not found; seed {training.get('seed')}."
    wall = training["wall_time_s"]
    return "\n".join([
        "```", training["command"], "```", "",
        f"Seed {training['seed']}; {training.get('total_steps')} optimiser steps; wall time "
        f"{wall / 60:.1f} min ({wall:.0f} s) on {training.get('device')}. Settings: "
        + ", ".join(f"{k}={v}" for k, v in training["settings"].items() if k in SHOWN_SETTINGS) + ".",
        *(["", training["note"]] if training.get("note") else [])])


def write_model_card(path: Path, manifest: ModelManifest, report: dict[str, Any]) -> None:
    calibration, ood, sanity = report["calibration"], manifest.ood, report["gradcam_sanity"]
    dedup = report["deduplication"]
    samples = report.get("samples_original", {})
    data = manifest.training.get("data", {})
    sample_line = (f"End-to-end through the application's `Classifier` on the 24 original JPEGs in "
                   f"`../shared/data/samples-original` (Testing images, so not unseen data): "
                   f"**{samples['correct']}/24** correct, {samples['rejected']} rejected by the OOD gate"
                   + (f"; wrong: {', '.join(samples['wrong'])}." if samples["wrong"] else ".") if samples else "")
    counts = ", ".join(f"{key} {value}" for key, value in data.get("train", {}).items())
    validation_counts = ", ".join(f"{key} {value}" for key, value in data.get("validation", {}).items())
    text = f"""# Model card: {manifest.name} {manifest.version}

Generated by `python -m core.training.evaluate` on {manifest.created}. Every number below is measured by that script;
the full record is `evaluation.json`, the shipped settings are in `manifest.json`.

## Intended use
Decision support for radiologists: a 4-class label (glioma, meningioma, no tumour, pituitary tumour) for a single 2-D
brain MRI slice with a Grad-CAM heatmap showing which region drove the answer. **It is not a diagnosis** and must not
be used without a radiologist's reading. It has not been validated on any clinical population, scanner or sequence;
see *Results on data from elsewhere* for what it does on images from other sources, and *Limitations*.

## Model
Keras `applications.Xception` topology (include_top=False, random initialisation, nothing downloaded) + global
average pooling + dropout 0.3 + 4 logits. Input {manifest.input_size}×{manifest.input_size}, grayscale replicated to
3 channels, scaled to [-1, 1]. Grad-CAM layer `{manifest.gradcam_layer}` \
({manifest.input_size // 32}×{manifest.input_size // 32} cells).
Weights `{manifest.weights_file}` (float16), sha256 `{manifest.weights_sha256}`; the application refuses a file
whose sha256 differs.

**Preprocessing** `{manifest.preprocessing_id}` (`core/model/preprocess.py`, the single implementation used by training,
evaluation and the application): crop to the head (foreground bounding box, padded to a square, aspect ratio kept),
then intensity normalised from the head's own percentiles with the head's median brought to a fixed grey level. It
removes the framing and brightness differences between the training set's source collections.

## Data
| source | use | licence | images |
|---|---|---|---|
| "Brain Tumor MRI Dataset" (Nickparvar; figshare/Cheng et al., SARTAJ, Br35H), `brainmri256.tar` sha256 \
`{manifest.training_data_sha256[:16]}…` | training (Training split minus a stratified 10% validation part), testing \
(Testing split, never tuned on) | CC0 | 5,712 + 1,311 |
| OpenNeuro ds002748 v1.0.5 (Bezmaternykh et al., doi:10.18112/openneuro.ds002748.v1.0.5), healthy T1w, \
skull-stripped | training ("no tumour") | CC0 | 792 |
| OpenfMRI ds000011 (Foerde, Knowlton, Poldrack), sub-01…07, healthy T1w + T2 | \
training ("no tumour") | ODC PDDL 1.0 | 140 |
| studyforrest example structural DICOM (Hanke et al., Sci Data 2014) | training ("no tumour") | ODC PDDL 1.0 | 10 |
| TCIA Brain-Tumor-Progression (Schmainda & Prah 2018, doi:10.7937/K9/TCIA.2018.15quzvnb), contrast T1 glioblastoma | \
evaluation only | CC BY 3.0 | 79 |
| OpenfMRI ds000011 sub-08…14 | evaluation only | ODC PDDL 1.0 | 140 |

Validation (temperature, OOD threshold; no checkpoint selection) is the official set's held-out 10% plus 15% of the
subjects of each extra source, split by subject. Training draws: every class equally often; within "no tumour" each
extra source of ≥ 100 images gets 20% of the draws. Training images: {counts or "see training_log.json"}.
Validation: {validation_counts or "see training_log.json"}.

The skull-stripped source would teach "no skull → no tumour": the augmentation skull-strips a random 20% of all
training images (every class), so the cue carries no class information. No healthy contrast-enhanced T1 and no
meningioma or pituitary images from other sources were available under a licence that allows training, so for those
classes the source confound of the official set remains.

## Training
{training_section(manifest)}

Augmentation (`core/training/augment.py`, on the CPU): skull strip, rotation ±15° with occasional quarter turns,
flips, mild elastic warp, random monotonic intensity curves, a multiplicative bias field, contrast inverted inside the
head (15%), blur, Rician noise, down-then-up sampling, JPEG re-compression; after preprocessing, a small zoom/shift of
the crop. BatchNorm running statistics are re-estimated exactly on unaugmented training images at the end.

## Results on data from elsewhere (what matters)
*Detection*: a tumour image called any tumour class; for "no tumour" images the share called "no tumour"
(specificity). *Typing*: the exact class. 95% Wilson intervals in brackets. Goals: glioma detection and typing ≥ 90%
with no-tumour specificity ≥ 90%.

{external_section(report)}

## Recipes tried for this release
Each run's figures on the external development set, through the PyTorch twin (argmax as the Keras model; the
confidences of the runs not shipped are uncalibrated). The shipped model is the run with the highest glioma typing +
no-tumour specificity there, so its figures above are somewhat optimistic: the maintainers' larger external set,
never seen in development, is the unbiased measure.

{recipes_section(report)}

## Stress tests (official Testing subset)
{stress_section(report)}

## Results on the official Testing split
{metrics_table(report['official'])}

![confusion matrices](confusion_matrix.png) ![ROC curves](roc_curves.png)

## Results on the de-duplicated Testing split
The official Testing split contains re-exports of Training slices. Each Testing image's 64-bit perceptual hash
(`imagehash.phash` of the 256² image) is compared with every Training image; an image whose nearest Training image is
within Hamming distance **{dedup['hamming_threshold']}** counts as a near-duplicate and is dropped. The histogram of
nearest distances (`dedup_hash_distances.png`) has a spike of identical images at 0 bits and a dip at 2; from 4 bits
on it follows the distance at which any Training slice finds its nearest *other* Training slice (4–10 bits for most),
so larger distances are ordinary similarity between different brains, not re-exports. Dropped:
{dedup['test_images_with_duplicate']} of {report['official']['images']} \
({', '.join(f'{c}: {n}' for c, n in dedup['duplicates_by_class'].items())}).

{metrics_table(report['deduplicated'])}

![pHash distances](dedup_hash_distances.png)

## Calibration
Temperature scaling, T = **{calibration['temperature']}** (minimum validation NLL: \
{calibration['validation_nll_before']}
→ {calibration['validation_nll_after']}). Expected calibration error ({calibration['bins']} equal-width bins):
validation {calibration['validation_ece_before']:.4f} → {calibration['validation_ece_after']:.4f}; official Testing
{calibration['test_ece_before']:.4f} → {calibration['test_ece_after']:.4f}.

![reliability diagram](calibration.png)

## Out-of-distribution gate
Inputs that do not look like a brain MRI slice get no class ("no prediction", with the reason "input does not look
like a brain MRI slice"). Method (`core/model/ood.py`): (1) input checks on the display image — colour photograph,
blank/near-constant, dominated by pixel noise, no dark background around the anatomy, much of the anatomy clipped
to white (a CT bone window, heavy burnt-in text); (2) Mahalanobis distance of the pooled
`{manifest.gradcam_layer}` features, projected on their first {ood['components']} principal components, to the
nearest class mean under a shared Ledoit–Wolf-shrunk covariance (fitted on every 4th image of the official training
part); rejected above the {ood['validation_quantile']} quantile of the validation distances
({ood['threshold_distance']}).

- Real MRIs wrongly rejected: validation {percent(ood['validation_mri_rejected_share'])}, official Testing
  **{percent(ood['test_mri_rejected_share'])}** ({ood['test_mri_rejected']}/{ood['test_mri_images']}; goal ≤ 1%).
- Non-MRI inputs rejected: **{percent(ood['non_mri_rejected_share'])}** \
({ood['non_mri_rejected']}/{ood['non_mri_images']};
  goal ≥ 95%), on the offline-generated set documented in `core/training/non_mri.py`:

{ood_table(ood)}

![OOD scores](ood_scores.png)

## Grad-CAM sanity
Cascading randomisation (Adebayo et al. 2018) on {len(sanity['spearman_all'][0])} Testing slices: the head, then
Xception blocks from the top down, are re-drawn at random and the predicted-class map is compared with the original
by Spearman rank correlation. Mean correlation per cumulative stage:
{', '.join(f"{stage} {value:+.2f}" for stage, value in zip(sanity['stages'], sanity['spearman_mean']))}.
Maps differ across images (mean pairwise Spearman between different slices {sanity['across_images_spearman_mean']:+.2f};
mean per-cell standard deviation across slices {sanity['original_pixel_std_across_images']:.2f}). The maps have the
network's feature resolution ({manifest.input_size // 32}×{manifest.input_size // 32} cells) and are upsampled for \
display.

![Grad-CAM sanity](gradcam_sanity.png)

## Sample images
{sample_line}

## Limitations
- **Sequences and planes.** Tumours in the training data are almost all contrast-enhanced T1 (axial, coronal,
  sagittal). No training image shows a tumour on T2 or FLAIR, so tumours on those sequences are not validated and
  are likely to be missed; on plain T1 they are weaker. Meningioma and pituitary tumours were only ever seen from
  one collection, so their figures on data from elsewhere are unknown.
- Trained in a limited time budget (see *Training* and *Recipes tried*); where the figures on data from
  elsewhere miss a goal, the tables above show by how much.
- Official Testing accuracy is optimistic because of near-duplicates and because the official set's classes come
  from different collections; the external tables are the better estimate of real-world behaviour, but they are
  small (tens of patients; the 79 glioma slices come from 11 patients, so their slice-level intervals are too
  narrow), and the external development set helped choose the shipped run (see *Recipes tried*).
- Only 2-D display-ready slices; DICOM inputs are windowed by the application first. Paediatric scans,
  post-operative scans and other pathologies (metastases, abscesses, infarcts, ...) are out of scope: unless the
  OOD gate catches them, such slices still get one of the four classes, possibly "No tumour".
- Grad-CAM shows where evidence for a class was found at coarse resolution; it is not a segmentation.
- The OOD gate was measured on synthetic and public non-MRI images; unusual real-world inputs may pass it.
"""
    path.write_text(text, encoding="utf-8")
