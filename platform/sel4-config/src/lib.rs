//! Kernel configuration in use (env `SEL4_CONFIG`, default `debug`), as Rust
//! constants generated from its `autoconf.h`: one constant per `CONFIG_X`
//! option (without the prefix), booleans for flags (`false` for flags the
//! config leaves out), and `NAME`, the config's name.
//!
//! The build script also sets `sel4_cfg_<option>` cfg flags for the enabled
//! boolean options and exports them to dependents' build scripts as
//! `DEP_SEL4_CONFIG_CFGS` (and every known flag as `DEP_SEL4_CONFIG_CHECK_CFGS`).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

// Option names are kept exactly as the kernel spells them (e.g. `OPTIMISATION_Os`).
#[allow(non_upper_case_globals)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/config.rs"));
}
pub use generated::*;

#[cfg(test)]
mod tests {
    use super::*;
    use sel4_build_support::autoconf;

    /// The constants agree with the config file they were generated from.
    #[test]
    fn constants_match_the_config_file() {
        let header = sel4_kernel_build_header();
        let d = autoconf::Defines::parse_autoconf(&std::fs::read_to_string(&header).unwrap()).unwrap();
        assert_eq!(d.int("CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS"), Some(MAX_NUM_BOOTINFO_UNTYPED_CAPS as i128));
        assert_eq!(d.int("CONFIG_ROOT_CNODE_SIZE_BITS"), Some(ROOT_CNODE_SIZE_BITS as i128));
        assert_eq!(d.int("CONFIG_NUM_PRIORITIES"), Some(NUM_PRIORITIES as i128));
        assert_eq!(d.int("CONFIG_RETYPE_FAN_OUT_LIMIT"), Some(RETYPE_FAN_OUT_LIMIT as i128));
        assert_eq!(d.is_defined("CONFIG_DEBUG_BUILD"), DEBUG_BUILD);
        assert_eq!(d.is_defined("CONFIG_PRINTING"), PRINTING);
        assert_eq!(d.is_defined("CONFIG_HUGE_PAGE"), HUGE_PAGE);
        assert_eq!(d.is_defined("CONFIG_VTX"), VTX);
    }

    #[test]
    fn cfg_flags_match_constants() {
        assert_eq!(cfg!(sel4_cfg_debug_build), DEBUG_BUILD);
        assert_eq!(cfg!(sel4_cfg_printing), PRINTING);
        assert_eq!(cfg!(sel4_cfg_huge_page), HUGE_PAGE);
        assert_eq!(cfg!(sel4_cfg_iommu), IOMMU);
    }

    fn sel4_kernel_build_header() -> std::path::PathBuf {
        std::path::Path::new(env!("SEL4_CONFIG_HEADER")).to_path_buf()
    }
}
