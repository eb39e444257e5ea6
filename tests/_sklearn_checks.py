"""scikit-learn's estimator checks for the CNNClassifier family: the checks skorch's design fails, and why."""

import warnings

SKORCH_INIT_REASON = (
    "skorch's NeuralNet.__init__ sets history_, initialized_ and virtual_params_ and stores routed "
    "module__*/criterion__* keyword arguments as attributes; this is how skorch routes them"
)

EXPECTED_FAILED_CHECKS = {"check_no_attributes_set_in_init": SKORCH_INIT_REASON}


def run_check(check, estimator):
    """Run one check with the networks' UserWarnings (few training steps on tiny data) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)
