"""Generative and discriminative models: the functions of that chapter, both sides.

Generative models describe how the data is produced, p(x, y) or p(x): Gaussian naive
Bayes and the Gaussian Bayes classifier (QDA and LDA), which classify through Bayes'
rule and can sample; the binary restricted Boltzmann machine trained by contrastive
divergence; a small GAN, generation without a density. Discriminative models describe
p(y | x) only: logistic and softmax regression. All classifiers share the scikit-learn
interface of :class:`Classifier` (``fit``, ``predict_proba``, ``predict``, ``score``).
"""

from nnbook.generative import _bayes, _discriminative, _estimator, _gan, _rbm
from nnbook.generative._bayes import *  # noqa: F403
from nnbook.generative._discriminative import *  # noqa: F403
from nnbook.generative._estimator import *  # noqa: F403
from nnbook.generative._gan import *  # noqa: F403
from nnbook.generative._rbm import *  # noqa: F403

__all__ = [
    *_bayes.__all__,
    *_rbm.__all__,
    *_gan.__all__,
    *_discriminative.__all__,
    *_estimator.__all__,
]
