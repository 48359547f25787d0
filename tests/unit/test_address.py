from runner.domain import address


def test_addresses_are_built_from_sorted_values() -> None:
    assert address.job("rabi", {"qubit": 3, "amp": 0.1}) == "job.rabi[amp=0.1,qubit=3]"
    assert address.job("bell") == "job.bell"
    assert address.batch_job("scan", None, {"omega": 2.0}) == "batch.scan.job[omega=2.0]"
    assert address.batch_job("scan", "first", {"omega": 2.0}) == "batch.scan.job.first"
    assert address.session("calib") == "session.calib"


def test_values_keep_their_type_in_the_address() -> None:
    assert address.key_suffix({"a": 1, "b": 1.0, "c": True, "d": "x y"}) == '[a=1,b=1.0,c=true,d="x y"]'


def test_matching_exact_prefix_and_glob() -> None:
    assert address.matches("job.rabi[amp=0.1]", "job.rabi")
    assert address.matches("job.rabi[amp=0.1]", "job.rabi[amp=0.1]")
    assert address.matches("job.rabi[amp=0.1]", "job.rab*")
    assert address.matches("job.rabi[amp=0.1]", "job.rabi[amp=0.1*")
    assert not address.matches("job.rabi2", "job.rabi")
    assert address.select(["job.b", "job.a", "session.s"], ["job.*"]) == ["job.a", "job.b"]
