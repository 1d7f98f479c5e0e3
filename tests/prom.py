"""A small parser for the Prometheus text format Envoy's /stats/prometheus serves."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Exposition:
    samples: list[Sample] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)

    def select(self, name: str, **labels: str) -> list[Sample]:
        """Samples of `name` whose labels include `labels`."""
        return [s for s in self.samples if s.name == name
                and all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels: str) -> float:
        """Sum of the matching samples (0 when there are none)."""
        return sum(s.value for s in self.select(name, **labels))

    def names(self) -> set[str]:
        return {s.name for s in self.samples}


def _labels(text: str, i: int, line: str) -> tuple[dict[str, str], int]:
    """Parses `{a="x",b="y"}` starting at text[i] == '{'; returns labels and the index after '}'."""
    labels: dict[str, str] = {}
    i += 1
    while True:
        while text[i] in " ,":
            i += 1
        if text[i] == "}":
            return labels, i + 1
        eq = text.index("=", i)
        key = text[i:eq].strip()
        if text[eq + 1] != '"':
            raise ValueError(f"unquoted label value in {line!r}")
        j = eq + 2
        out = []
        while text[j] != '"':
            if text[j] == "\\":
                j += 1
                out.append({"n": "\n", "\\": "\\", '"': '"'}.get(text[j], "\\" + text[j]))
            else:
                out.append(text[j])
            j += 1
        labels[key] = "".join(out)
        i = j + 1


def parse(text: str) -> Exposition:
    """Parses the exposition; raises ValueError on a malformed line."""
    exp = Exposition()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 4 and parts[1] == "TYPE":
                exp.types[parts[2]] = parts[3]
            continue
        brace = line.find("{")
        space = line.find(" ")
        if brace != -1 and (space == -1 or brace < space):
            name = line[:brace]
            labels, end = _labels(line, brace, line)
            rest = line[end:].split()
        else:
            name, *rest = line.split()
            labels = {}
        if not rest:
            raise ValueError(f"no value in {line!r}")
        exp.samples.append(Sample(name, labels, float(rest[0])))
    return exp


def metric_family(sample_name: str, types: dict[str, str]) -> str:
    """The family a sample belongs to (`x_bucket` / `x_sum` / `x_count` of a histogram -> `x`)."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample_name.removesuffix(suffix)
        if base != sample_name and types.get(base) in ("histogram", "summary"):
            return base
    return sample_name
