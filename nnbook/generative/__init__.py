"""Generative and discriminative models: the functions of that chapter, both sides.

Generative models describe how the data is produced, p(x, y) or p(x): Gaussian naive
Bayes and the Gaussian Bayes classifier (QDA and LDA), which classify through Bayes'
rule and can sample; the binary restricted Boltzmann machine trained by contrastive
divergence; a small GAN, generation without a density. Discriminative models describe
p(y | x) only: logistic and softmax regression. All classifiers share the scikit-learn
interface of :class:`Classifier` (``fit``, ``predict_proba``, ``predict``, ``score``).

Around them: the exact Bayes error of known Gaussian classes and the excess error of a
classifier; the logistic posterior of any exponential family; scores of probabilistic
predictions (log-loss, Brier score, reliability, the expected calibration error and its
noise floor); what a generative model buys (classifying with missing features, a new
class prior and its EM estimate, semi-supervised EM, out-of-distribution scores); the
mode coverage of a GAN's samples; a variational autoencoder with its ELBO and
importance-weighted bound; and paired differences for comparing learning curves.
"""

from nnbook.generative import (
    _bayes,
    _bayes_error,
    _calibration,
    _discriminative,
    _em,
    _estimator,
    _exponential_family,
    _gan,
    _learning_curves,
    _missing,
    _modes,
    _ood,
    _rbm,
    _vae,
)
from nnbook.generative._bayes import *  # noqa: F403
from nnbook.generative._bayes_error import *  # noqa: F403
from nnbook.generative._calibration import *  # noqa: F403
from nnbook.generative._discriminative import *  # noqa: F403
from nnbook.generative._em import *  # noqa: F403
from nnbook.generative._estimator import *  # noqa: F403
from nnbook.generative._exponential_family import *  # noqa: F403
from nnbook.generative._gan import *  # noqa: F403
from nnbook.generative._learning_curves import *  # noqa: F403
from nnbook.generative._missing import *  # noqa: F403
from nnbook.generative._modes import *  # noqa: F403
from nnbook.generative._ood import *  # noqa: F403
from nnbook.generative._rbm import *  # noqa: F403
from nnbook.generative._vae import *  # noqa: F403

__all__ = [
    *_bayes.__all__,
    *_rbm.__all__,
    *_gan.__all__,
    *_discriminative.__all__,
    *_estimator.__all__,
    *_bayes_error.__all__,
    *_exponential_family.__all__,
    *_calibration.__all__,
    *_missing.__all__,
    *_em.__all__,
    *_ood.__all__,
    *_vae.__all__,
    *_modes.__all__,
    *_learning_curves.__all__,
]
