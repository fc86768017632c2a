"""Vanishing gradients went unsolved from 1986 to 2006, until Hinton's ReLU? The dated record (tutorial 000)

Tutorial 000: "This problem was not solved from 1986 until 2006, but the ReLU function
proposed by Professor Geoffrey Hinton solved sigmoid's vanishing gradient problem." A
historical statement is answered with dated references, not an experiment: the table
below lists what was published when (authors, title, venue), and the rule reads the
years from it.

* 1986: backpropagation popularised (Rumelhart, Hinton & Williams), with sigmoid units.
* 1991-1994: the vanishing gradient is identified and analysed (Hochreiter's diploma
  thesis; Bengio, Simard & Frasconi).
* 1997: LSTM (Hochreiter & Schmidhuber) solves it for recurrent networks by gating, not by
  the activation.
* 2006: Hinton, Osindero & Teh's deep belief nets: the 2006 breakthrough is greedy
  layer-wise pre-training, with sigmoid (logistic) units, not ReLU.
* Rectifiers are older than deep learning (Fukushima 1969; Hahnloser et al. 2000) and
  entered it in 2009-2011: Jarrett et al. 2009 (rectification in CNNs), Nair & Hinton 2010
  (rectified linear units in RBMs: the "Hinton" in the tutorial's sentence), Glorot, Bordes
  & Bengio 2011 (deep supervised rectifier networks train without pre-training), then
  Krizhevsky, Sutskever & Hinton 2012.

Figure: the references on a time line, ReLU's in red.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..figures import new_figure, png
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, register

#: (year, authors, title, venue, what it did, whether it is about rectifiers)
REFERENCES = (
    (1969, "K. Fukushima", "Visual feature extraction by a multilayered network of analog threshold elements",
     "IEEE Trans. Systems Science and Cybernetics 5(4)", "rectifying (analog threshold) units", True),
    (1986, "D. E. Rumelhart, G. E. Hinton, R. J. Williams", "Learning representations by back-propagating errors",
     "Nature 323", "backpropagation, with sigmoid units", False),
    (1991, "S. Hochreiter", "Untersuchungen zu dynamischen neuronalen Netzen", "Diploma thesis, TU Munich",
     "vanishing gradients identified", False),
    (1994, "Y. Bengio, P. Simard, P. Frasconi", "Learning long-term dependencies with gradient descent is difficult",
     "IEEE Trans. Neural Networks 5(2)", "vanishing gradients analysed", False),
    (1997, "S. Hochreiter, J. Schmidhuber", "Long short-term memory", "Neural Computation 9(8)",
     "gating solves it for recurrent nets", False),
    (2000, "R. Hahnloser, R. Sarpeshkar, M. Mahowald, R. Douglas, H. S. Seung",
     "Digital selection and analogue amplification coexist in a cortex-inspired silicon circuit", "Nature 405",
     "the rectifier, from neuroscience", True),
    (2006, "G. E. Hinton, S. Osindero, Y.-W. Teh", "A fast learning algorithm for deep belief nets",
     "Neural Computation 18(7)", "layer-wise pre-training, sigmoid units", False),
    (2009, "K. Jarrett, K. Kavukcuoglu, M. Ranzato, Y. LeCun",
     "What is the best multi-stage architecture for object recognition?", "ICCV", "rectification in CNNs", True),
    (2010, "V. Nair, G. E. Hinton", "Rectified linear units improve restricted Boltzmann machines", "ICML",
     "ReLU in RBMs", True),
    (2011, "X. Glorot, A. Bordes, Y. Bengio", "Deep sparse rectifier neural networks", "AISTATS",
     "deep ReLU nets train without pre-training", True),
    (2012, "A. Krizhevsky, I. Sutskever, G. E. Hinton", "ImageNet classification with deep convolutional neural "
     "networks", "NIPS", "ReLU in the ImageNet-winning CNN", True),
)


@dataclass
class Config:
    seeds: int = 1  # nothing is random: a table of references
    QUICK: ClassVar[dict] = {}
    FULL: ClassVar[dict] = {}


def run(cfg: Config, runner) -> Outcome:
    refs = [{"year": y, "authors": a, "title": t, "venue": v, "what": w, "rectifier": r}
            for y, a, t, v, w, r in REFERENCES]
    hinton_relu = min(r["year"] for r in refs if r["rectifier"] and "Hinton" in r["authors"])
    deep_relu = min(r["year"] for r in refs if r["rectifier"] and "without pre-training" in r["what"])
    numbers = {"references": refs, "claimed_year": 2006, "hinton_relu_year": hinton_relu,
               "deep_relu_year": deep_relu, "first_rectifier_year": min(r["year"] for r in refs if r["rectifier"]),
               "solved_before_2006": [r for r in refs if 1986 < r["year"] < 2006 and "solves" in r["what"]],
               "year_2006": [r for r in refs if r["year"] == 2006]}
    return Outcome(numbers=numbers, raw={}, figures=[_figure(refs)],
                   settings="No computation: the dated references in the table, from the papers themselves.")


def _figure(refs: list[dict]):
    fig, ax = new_figure(1, 1, width=9.0, height=4.6)
    a_ = ax[0, 0]
    a_.axvspan(1986, 2006, color="0.92", zorder=0, label="1986-2006, 'unsolved' in tutorial 000")
    for k, r in enumerate(refs):  # one row per reference, oldest at the top
        color = "C3" if r["rectifier"] else "0.25"
        a_.plot([r["year"]], [k], "o", color=color)
        a_.annotate(f"{r['year']}  {r['authors'].split(',')[0].split()[-1]}: {r['what']}", (r["year"], k),
                    xytext=(6, -3), textcoords="offset points", fontsize=8, color=color)
    a_.set(xlim=(1965, 2035), ylim=(len(refs) - 0.5, -0.8), yticks=[], xlabel="year")
    a_.legend(fontsize=8, loc="lower left")
    return png(fig, "timeline", "The references behind the sentence, by year; red: rectifiers (ReLU). The 2006 "
               "breakthrough was pre-training with sigmoid units; ReLU entered deep learning in 2009-2011.")


def verdict(numbers) -> Verdict:
    c, h, d = numbers["claimed_year"], numbers["hinton_relu_year"], numbers["deep_relu_year"]
    refs = numbers["references"]
    y2006 = "; ".join(f"{r['authors']} ({r['year']}): {r['what']}" for r in numbers["year_2006"])
    solved = "; ".join(f"{r['authors']} ({r['year']}): {r['what']}" for r in numbers["solved_before_2006"])
    key = (f"Hinton's ReLU paper: {h} (Nair & Hinton), not {c}; deep ReLU nets without pre-training: {d}; "
           f"first rectifier: {numbers['first_rectifier_year']}")
    text = (f"What appeared in {c}: {y2006 or 'nothing on ReLU'}. Hinton co-authored the paper that brought "
            f"rectified linear units into deep learning in {h}, and deep supervised rectifier networks were shown to "
            f"train without pre-training in {d}; the vanishing gradient was identified in 1991 and solved for "
            f"recurrent nets before {c} ({solved or 'none'}). References: "
            + "; ".join(f"{r['authors']} ({r['year']}), '{r['title']}', {r['venue']}" for r in refs) + ".")
    if h == c:
        return Verdict(CONFIRMED, text, key)
    if h - c <= 6 and any("Hinton" in r["authors"] for r in refs if r["rectifier"]):
        return Verdict(CAVEATS, "Right person, wrong date and wrong invention for 2006. " + text, key)
    return Verdict(REFUTED, text, key)


EXPERIMENT = register(
    name="relu_history",
    number=17,
    tutorial="000",
    claim="The vanishing gradient problem went unsolved from 1986 to 2006, when Geoffrey Hinton's ReLU solved it.",
    korean="이 문제는 1986년부터 2006년까지 해결되지 않았으나, 제프리 힌튼 교수가 제안한 렐루 함수로 인해, "
    "시그모이드의 기울기 소실 문제가 해결되게 되었다.",
    config=Config,
    run=run,
    verdict=verdict,
)
