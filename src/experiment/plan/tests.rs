use super::*;

#[test]
fn every_bundled_experiment_file_reads_and_its_configs_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = 0;
    for dir in ["experiments", "experiments/paper"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let file =
                ExperimentFile::read(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            for spec in &file.tables {
                spec.arms()
                    .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            }
            for (name, config) in &file.configs {
                let text = std::fs::read_to_string(root.join(config))
                    .unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
                if name != "downstream" {
                    dnabench_training::config::ConfigFile::parse(&text)
                        .unwrap_or_else(|e| panic!("{}: {name}: {e:#}", path.display()));
                }
            }
            files += 1;
        }
    }
    assert!(files >= 9, "{files} experiment files");
}

#[test]
fn the_leaderboards_paper_values_are_table_6_4s() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = ExperimentFile::read(&root.join("experiments/table_6_4.toml")).unwrap();
    let mut checked = 0;
    for task in dnabench_queries::TASKS {
        let (metric, ..) = task.headline_metric();
        for (arm, value) in task.paper {
            let cell = file.tables[0]
                .paper
                .iter()
                .find(|p| p.dataset == task.name && p.arm == *arm)
                .unwrap_or_else(|| panic!("{}: no {arm} in table_6_4.toml", task.name));
            assert_eq!(cell.values.get(metric), Some(value), "{} {arm}", task.name);
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
}

fn table(text: &str) -> TableSpec {
    let file: ExperimentFile = toml::from_str(&format!(
        "[experiment]\nname = \"x\"\ntitle = \"x\"\n{text}"
    ))
    .unwrap();
    file.tables[0].clone()
}

#[test]
fn lists_expand_into_arms_named_by_what_varies() {
    let t = table(
        "[[table]]\ntitle = \"t\"\ndatasets = [\"promoter\"]\n\
         arms = [{ model = \"transformer\", positions = [\"rotary\", \"absolute\"] }, { model = \"cnn\" }, \
         { name = \"attention\", model = \"transformer\", init = \"mlm\", mask_rate = 0.2 }]\n",
    );
    let arms = t.arms().unwrap();
    let names: Vec<&str> = arms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["rotary", "absolute", "cnn", "attention"]);
    assert_eq!(arms[1].key(), "transformer-kpatch-absolute");
    assert_eq!(arms[2].key(), "cnn-one_hot");
    assert_eq!(arms[3].init, Init::Mlm(0.2));
    assert_eq!(arms[3].key(), "transformer-kpatch-rotary-mlm20");
    // Mask rates multiply the MLM starts only.
    let t = table(
        "[[table]]\ntitle = \"t\"\ndatasets = [\"promoter\"]\n\
         arms = [{ model = \"transformer\", init = [\"scratch\", \"mlm\"], mask_rate = [0.1, 0.3] }]\n",
    );
    let names: Vec<String> = t.arms().unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["scratch", "mlm 0.1", "mlm 0.3"]);
}

#[test]
fn an_arm_starts_the_datasets_it_lists_from_its_backbone() {
    let t = table(
        "[[table]]\ntitle = \"t\"\ndatasets = [\"promoter\", \"chromatin\"]\n\
         arms = [{ model = \"transformer\", init = \"mlm\", start_from_backbone = [\"chromatin\"] }, { model = \"cnn\" }]\n",
    );
    let arms = t.arms().unwrap();
    assert!(arms[0].starts_from_backbone("chromatin"));
    assert!(!arms[0].starts_from_backbone("promoter"));
    assert!(!arms[1].starts_from_backbone("chromatin"));
    // Its start elsewhere, and the key its runs share, are unchanged.
    assert_eq!(arms[0].init, Init::Mlm(0.3));
    assert_eq!(arms[0].key(), "transformer-kpatch-rotary-mlm30");
}

#[test]
fn a_curriculum_names_datasets_of_its_table_other_than_the_backbone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.toml");
    for (listed, backbone) in [("chromatin", "chromatin"), ("mpra", "chromatin_bins")] {
        std::fs::write(
            &path,
            format!(
                "[experiment]\nname = \"x\"\ntitle = \"x\"\nbackbone = \"{backbone}\"\n\
                 [[table]]\ntitle = \"t\"\ndatasets = [\"chromatin\"]\n\
                 arms = [{{ model = \"transformer\", start_from_backbone = [\"{listed}\"] }}]\n"
            ),
        )
        .unwrap();
        let err = format!("{:#}", ExperimentFile::read(&path).unwrap_err());
        assert!(
            err.contains("x.toml") && err.contains(&format!("starts '{listed}' from the backbone")),
            "{err}"
        );
    }
}

#[test]
fn a_dataset_may_name_its_own_backbone_for_its_curriculum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.toml");
    let write = |own: &str| {
        std::fs::write(
            &path,
            format!(
                "[experiment]\nname = \"x\"\ntitle = \"x\"\nbackbone = \"bins\"\n\
                 [datasets]\nby_chrom = {{ task = \"chromatin\", backbone = \"{own}\" }}\n\
                 [[table]]\ntitle = \"t\"\ndatasets = [\"chromatin\", \"by_chrom\"]\n\
                 arms = [{{ model = \"transformer\", start_from_backbone = [\"chromatin\", \"by_chrom\"] }}]\n"
            ),
        )
        .unwrap();
    };
    write("bins_by_chrom");
    let file = ExperimentFile::read(&path).unwrap();
    assert_eq!(file.backbone_of("by_chrom"), "bins_by_chrom");
    assert_eq!(file.backbone_of("chromatin"), "bins");
    // A dataset cannot be its own backbone.
    write("by_chrom");
    let err = format!("{:#}", ExperimentFile::read(&path).unwrap_err());
    assert!(
        err.contains("starts 'by_chrom' from the backbone") && err.contains("('by_chrom')"),
        "{err}"
    );
}

#[test]
fn the_papers_tables_parse_and_expand() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    for n in ["6_1", "6_2", "6_3", "6_4"] {
        let file = ExperimentFile::read(&dir.join(format!("table_{n}.toml"))).unwrap();
        for table in &file.tables {
            let arms = table.arms().unwrap();
            assert!(!arms.is_empty() && !table.paper.is_empty(), "{n}");
        }
    }
}

#[test]
fn bad_arms_are_errors_that_name_the_table() {
    let t = table(
        "[[table]]\ntitle = \"t\"\ndatasets = [\"promoter\"]\narms = [{ model = \"cnn\", init = \"mlm\" }]\n",
    );
    assert!(t
        .arms()
        .unwrap_err()
        .to_string()
        .contains("only the transformer"));
    let t = table(
        "[[table]]\ntitle = \"t\"\ndatasets = [\"promoter\"]\narms = [{ model = \"cnn\" }, { model = \"cnn\" }]\n",
    );
    assert!(t
        .arms()
        .unwrap_err()
        .to_string()
        .contains("two arms named 'cnn'"));
    let t = table(
        "[[table]]\ntitle = \"t\"\ndatasets = [\"promoter\"]\narms = [{ model = \"rnn\" }]\n",
    );
    assert!(t.arms().is_err());
    let t = table(
        "[[table]]\ntitle = \"t\"\ndatasets = [\"promoter\"]\narms = [{ model = \"cnn\" }]\n\
         paper = [{ dataset = \"promoter\", arm = \"rotary\", auroc = 0.9 }]\n",
    );
    let err = t.arms().unwrap_err().to_string();
    assert!(
        err.contains("arm 'rotary'") && err.contains("[\"cnn\"]"),
        "{err}"
    );
}
