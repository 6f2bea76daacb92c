//! Configuration lookup: known names resolve to headers, unknown names fail
//! with an error listing the known ones.

use sel4_kernel_build::{config_header, config_names, Error};

#[test]
fn debug_and_release_exist() {
    let names = config_names();
    assert!(names.contains(&"debug".to_string()), "{names:?}");
    assert!(names.contains(&"release".to_string()), "{names:?}");
    for name in &names {
        let header = config_header(name).unwrap();
        assert!(header.is_file(), "{}", header.display());
    }
}

#[test]
fn debug_config_prints_and_release_does_not() {
    let debug = std::fs::read_to_string(config_header("debug").unwrap()).unwrap();
    let release = std::fs::read_to_string(config_header("release").unwrap()).unwrap();
    for text in [&debug, &release] {
        // TCG has neither PCID nor x2APIC: these would stop the kernel booting in QEMU.
        assert!(!text.contains("CONFIG_SUPPORT_PCID"));
        assert!(!text.contains("CONFIG_X2APIC"));
        assert!(!text.contains("CONFIG_VERIFICATION_BUILD"));
        assert!(text.contains("#define CONFIG_XAPIC 1"));
    }
    assert!(debug.contains("#define CONFIG_PRINTING 1"));
    assert!(debug.contains("#define CONFIG_DEBUG_BUILD 1"));
    assert!(!release.contains("CONFIG_PRINTING"));
    assert!(!release.contains("CONFIG_DEBUG_BUILD"));
}

#[test]
fn unknown_config_lists_known_ones() {
    match config_header("no-such-config") {
        Err(e @ Error::UnknownConfig { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("no-such-config"), "{msg}");
            assert!(msg.contains("debug") && msg.contains("release"), "{msg}");
        }
        other => panic!("expected UnknownConfig, got {other:?}"),
    }
}
