"""The fitted model: what a fit leaves, and what its parts do together.

The table encoder, the noise schedule, the network and its moving average, the classes
and the device; with them the model draws rows in its block (chunk by chunk, with
labels, guidance and given cells) and gives the pieces the bound needs. The estimator
validates its arguments, calls this, and decodes; this module knows nothing of
scikit-learn's API or of the user's arguments.
"""

import numpy as np
import torch

from ._labels import label_indices
from ._runtime import chunks
from .diffusion import GaussianDiffusion
from .samplers import Inpainting, classifier_free_guidance, sample_loop

__all__ = ["FittedModel"]


class FittedModel:
    """The parts of a fitted :class:`~skddpm.DiffusionGenerator`, working together.

    Made by :meth:`of` from the generator's fitted attributes (``encoder_``,
    ``noise_schedule_``, ``network_``, ``ema_network_``, ``classes_``,
    ``class_prior_``, ``device_``) and the parameters that need no refit
    (``prediction_type``, ``variance_type``, ``clip_sample``, ``verbose``).
    """

    def __init__(
        self, encoder, schedule, network, ema_network, device, *, prediction_type,
        variance_type, clip_sample, classes=None, class_prior=None, verbose=False,
    ):  # fmt: skip
        self.encoder, self.schedule, self.device = encoder, schedule, device
        self.network, self.ema_network = network, ema_network
        self.prediction_type, self.variance_type = prediction_type, variance_type
        self.clip_sample, self.verbose = clip_sample, verbose
        self.classes, self.class_prior = classes, class_prior

    @classmethod
    def of(cls, generator):
        """The fitted model of a fitted ``generator``."""
        return cls(
            generator.encoder_,
            generator.noise_schedule_,
            generator.network_,
            generator.ema_network_,
            generator.device_,
            prediction_type=generator.prediction_type,
            variance_type=generator.variance_type,
            clip_sample=generator.clip_sample,
            classes=getattr(generator, "classes_", None),
            class_prior=getattr(generator, "class_prior_", None),
            verbose=generator.verbose,
        )

    def sampling_network(self):
        """The EMA weights when there are some, else the trained ones, in eval mode."""
        network = self.ema_network if self.ema_network is not None else self.network
        return network.eval()

    def diffusion(self, dtype):
        return GaussianDiffusion(
            self.schedule,
            self.prediction_type,
            self.device,
            dtype=dtype,
            variance_type=self.variance_type,
            categories=self.encoder.layout()[1],
        )

    def clip_range(self, dtype):
        """The fitted range of each numeric column in the model's units, or None."""
        if not self.clip_sample:
            return None
        return tuple(
            torch.as_tensor(v, dtype=dtype, device=self.device) for v in self.encoder.clip_range()
        )

    def label_indices(self, y, n_samples):
        """Indices of the classes in ``y``, one per row, or None for unconditional rows."""
        if y is None:
            return None
        if self.classes is None:
            raise ValueError(
                "y was given, but this DiffusionGenerator was fitted without labels; "
                "fit it with fit(X, y) to sample by class."
            )
        indices = label_indices(self.classes, y, n_samples)
        return torch.as_tensor(indices, device=self.device)

    def draw(
        self, n_samples, *, labels, guidance_scale, sampler, generator, given=None, jumps=0,
        corrector_steps=0, trajectory=False,
    ):  # fmt: skip
        """Run the sampler chunk by chunk.

        ``labels`` are class indices (None: drawn by ``class_prior`` for a model with
        classes); ``given`` the ``encode_given`` blocks of one row or ``n_samples`` rows.
        Returns the model's block of ``x0`` (float64), or ``(xs, x0_hats)`` as
        ``TableEncoder.to_codes`` gives them.
        """
        network = self.sampling_network()
        diffusion = self.diffusion(torch.float32)
        clip = self.clip_range(torch.float32)
        n_inputs, _ = self.encoder.network_inputs()
        if labels is None and self.classes is not None:
            prior = torch.as_tensor(self.class_prior, dtype=torch.float32, device=self.device)
            labels = torch.multinomial(prior, n_samples, replacement=True, generator=generator)
        parts = []
        with torch.inference_mode():
            for start, stop in chunks(n_samples, self.verbose, "sample"):
                noise = torch.randn(
                    (stop - start, n_inputs), generator=generator, device=self.device
                )
                model = network
                if labels is not None:
                    model = classifier_free_guidance(
                        network, labels[start:stop], len(self.classes), guidance_scale
                    )
                condition = None
                if given is not None:
                    Z, known, allowed = (
                        None if b is None else torch.as_tensor(
                            _rows(b, start, stop), dtype=torch.float32, device=self.device
                        )
                        for b in given
                    )  # fmt: skip
                    condition = Inpainting(
                        Z, known, allowed=allowed, jumps=jumps, corrector_steps=corrector_steps
                    )
                out = sample_loop(
                    diffusion, model, noise, generator=generator, method=sampler, clip=clip,
                    trajectory=trajectory, condition=condition,
                )  # fmt: skip
                if trajectory:
                    parts.append([self._codes(part) for part in out[1:]])
                else:
                    parts.append(out.cpu().numpy().astype(np.float64))
        if trajectory:
            return tuple(np.concatenate(chain, axis=1) for chain in zip(*parts))
        return np.concatenate(parts)

    def _codes(self, x):
        """A chain's states (n_steps, n, width) as ``TableEncoder.to_codes`` rows."""
        steps = x.cpu().numpy().astype(np.float64)
        rows = self.encoder.to_codes(steps.reshape(-1, steps.shape[-1]))
        return rows.reshape(*steps.shape[:-1], -1)


def _rows(block, start, stop):
    """Rows ``start:stop`` of a given block, or its one row repeated as many times."""
    if block.shape[0] == 1:
        return np.repeat(block, stop - start, axis=0)
    return block[start:stop]
