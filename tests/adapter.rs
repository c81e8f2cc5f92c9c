//! Adapter selection by name. Its own test binary, because it sets an environment variable
//! that the shared device of other tests must not see.

use gantry::{gpu::list_adapters, Device, Error};

#[test]
fn adapters_are_listed_and_chosen_by_name() {
    let adapters = list_adapters();
    assert!(!adapters.is_empty(), "tests need a GPU adapter");
    let first = &adapters[0];
    assert!(first.max_storage_binding_mib > 0);

    std::env::set_var("GANTRY_ADAPTER", "no adapter is called this");
    let err = Device::open().unwrap_err();
    assert!(matches!(err, Error::NoAdapter(_)), "{err:?}");
    assert!(err.to_string().contains("no adapter is called this"), "the error names the request: {err}");

    // A substring of a real name, in another case, picks that adapter.
    let wanted = first.name.to_uppercase();
    std::env::set_var("GANTRY_ADAPTER", &wanted[..wanted.len().min(6)]);
    let device = Device::open().unwrap();
    assert!(device.summary().name.to_uppercase().starts_with(&wanted[..wanted.len().min(6)]));
    std::env::remove_var("GANTRY_ADAPTER");
}
