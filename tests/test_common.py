from sklearn.utils.estimator_checks import parametrize_with_checks

from skddpm import DiffusionGenerator


@parametrize_with_checks(
    [
        DiffusionGenerator(
            timesteps=25,
            hidden_layer_sizes=(16,),
            embedding_dim=8,
            fourier_features=2,
            max_iter=3,
            random_state=0,
        )
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
