"""Generative models: they model how the data is produced, p(x, y) or p(x).

- :mod:`nnbook.generative.bayes`: Gaussian naive Bayes and the Gaussian Bayes classifier
  (QDA and LDA), which classify through Bayes' rule and can sample new data;
- :mod:`nnbook.generative.rbm`: the binary restricted Boltzmann machine, trained by
  contrastive divergence;
- :mod:`nnbook.generative.gan`: a small GAN trainer, generation without a density.
"""

from nnbook.generative.bayes import GaussianBayes, GaussianNaiveBayes
from nnbook.generative.gan import train_gan
from nnbook.generative.rbm import BernoulliRBM

__all__ = ["BernoulliRBM", "GaussianBayes", "GaussianNaiveBayes", "train_gan"]
