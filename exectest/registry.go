package exectest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// dockerCLI runs the harness's own docker commands (never a job's): the
// real CLI with the harness's docker config, logged in to both registries.
type dockerCLI struct {
	bin    string
	config string
}

func (d dockerCLI) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+d.config)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// manifest is what `imagetools inspect` says of a reference.
type manifest struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Manifests []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Platform  *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"manifests"`
}

// platforms maps each real platform of an index (attestations left out)
// to its manifest's digest; a single manifest has none.
func (m *manifest) platforms() map[string]string {
	out := map[string]string{}
	for _, x := range m.Manifests {
		if x.Platform == nil || x.Platform.OS == "unknown" {
			continue
		}
		p := x.Platform.OS + "/" + x.Platform.Architecture
		if x.Platform.Variant != "" && !(x.Platform.Architecture == "arm64" && x.Platform.Variant == "v8") {
			p += "/" + x.Platform.Variant
		}
		out[p] = x.Digest
	}
	return out
}

func (d dockerCLI) inspect(ctx context.Context, ref string) (*manifest, error) {
	out, err := d.run(ctx, "buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}")
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("imagetools inspect %s: %w", ref, err)
	}
	return &m, nil
}

// imageConfig is the part of an image's config the checks read.
type imageConfig struct {
	Architecture string `json:"architecture"`
	Config       struct {
		Labels     map[string]string `json:"Labels"`
		Entrypoint []string          `json:"Entrypoint"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// configs returns the image config of each platform of ref (one, keyed
// "", for a single-platform image).
func (d dockerCLI) configs(ctx context.Context, ref string) (map[string]*imageConfig, error) {
	out, err := d.run(ctx, "buildx", "imagetools", "inspect", ref, "--format", "{{json .Image}}")
	if err != nil {
		return nil, err
	}
	var single imageConfig
	if err := json.Unmarshal([]byte(out), &single); err == nil && len(single.RootFS.DiffIDs) > 0 {
		return map[string]*imageConfig{"": &single}, nil
	}
	var many map[string]*imageConfig
	if err := json.Unmarshal([]byte(out), &many); err != nil {
		return nil, fmt.Errorf("imagetools inspect %s: the image config: %w", ref, err)
	}
	return many, nil
}

// created returns when each platform of ref was built (one, keyed "", for
// a single-platform image).
func (d dockerCLI) created(ctx context.Context, ref string) (map[string]time.Time, error) {
	out, err := d.run(ctx, "buildx", "imagetools", "inspect", ref, "--format", "{{json .Image}}")
	if err != nil {
		return nil, err
	}
	type createdAt struct {
		Created time.Time `json:"created"`
	}
	var single createdAt
	if err := json.Unmarshal([]byte(out), &single); err == nil && !single.Created.IsZero() {
		return map[string]time.Time{"": single.Created}, nil
	}
	var many map[string]createdAt
	if err := json.Unmarshal([]byte(out), &many); err != nil {
		return nil, fmt.Errorf("imagetools inspect %s: the image config: %w", ref, err)
	}
	times := map[string]time.Time{}
	for p, c := range many {
		times[p] = c.Created
	}
	return times, nil
}

// attested is what one platform's attestations say: its provenance's
// build type ("" without provenance), and the packages its SBOM lists as
// name@version (nil without an SBOM).
type attested struct {
	Provenance string
	Packages   []string
}

// attestations reads ref's attestations, by platform (one, keyed "", for
// an index of one platform).
func (d dockerCLI) attestations(ctx context.Context, ref string) (map[string]*attested, error) {
	type one struct {
		Provenance *struct {
			SLSA map[string]any `json:"SLSA"`
		} `json:"Provenance"`
		SBOM *struct {
			SPDX *struct {
				Packages []struct {
					Name    string `json:"name"`
					Version string `json:"versionInfo"`
				} `json:"packages"`
			} `json:"SPDX"`
		} `json:"SBOM"`
	}
	out, err := d.run(ctx, "buildx", "imagetools", "inspect", ref, "--format", `{"Provenance":{{json .Provenance}},"SBOM":{{json .SBOM}}}`)
	if err != nil {
		return nil, err
	}
	read := func(o one) *attested {
		a := &attested{}
		if o.Provenance != nil && o.Provenance.SLSA != nil {
			a.Provenance = fmt.Sprint(o.Provenance.SLSA["buildType"])
			if a.Provenance == "" || a.Provenance == "<nil>" {
				a.Provenance = "slsa"
			}
		}
		if o.SBOM != nil && o.SBOM.SPDX != nil {
			a.Packages = []string{}
			for _, p := range o.SBOM.SPDX.Packages {
				a.Packages = append(a.Packages, p.Name+"@"+p.Version)
			}
		}
		return a
	}
	var single one
	if err := json.Unmarshal([]byte(out), &single); err == nil && (single.Provenance != nil && single.Provenance.SLSA != nil || single.SBOM != nil && single.SBOM.SPDX != nil) {
		return map[string]*attested{"": read(single)}, nil
	}
	var many struct {
		Provenance map[string]json.RawMessage `json:"Provenance"`
		SBOM       map[string]json.RawMessage `json:"SBOM"`
	}
	if err := json.Unmarshal([]byte(out), &many); err != nil {
		return nil, fmt.Errorf("imagetools inspect %s: its attestations: %w", ref, err)
	}
	byPlatform := map[string]*attested{}
	for _, p := range slices.Sorted(maps.Keys(many.Provenance)) {
		var o one
		o.Provenance = &struct {
			SLSA map[string]any `json:"SLSA"`
		}{}
		if err := json.Unmarshal(many.Provenance[p], o.Provenance); err != nil {
			return nil, err
		}
		byPlatform[p] = read(o)
	}
	for _, p := range slices.Sorted(maps.Keys(many.SBOM)) {
		var o one
		if err := json.Unmarshal([]byte(`{"SBOM":`+string(many.SBOM[p])+`}`), &o); err != nil {
			return nil, err
		}
		a := byPlatform[p]
		if a == nil {
			a = &attested{}
			byPlatform[p] = a
		}
		a.Packages = read(o).Packages
	}
	return byPlatform, nil
}

// config is the config for platform (or the only one).
func config(all map[string]*imageConfig, platform string) *imageConfig {
	if c, ok := all[platform]; ok {
		return c
	}
	if c, ok := all[""]; ok {
		return c
	}
	if len(all) == 1 {
		for _, c := range all {
			return c
		}
	}
	return nil
}

// inside runs, in a container of ref for platform, a script that prints
// the marker, uname -m and the build args: proof of what was built where.
type inside struct {
	Marker, Uname, Args string
}

func (d dockerCLI) lookInside(ctx context.Context, ref, platform string) (*inside, error) {
	out, err := d.run(ctx, "run", "--rm", "--platform", platform, "--entrypoint", "/bin/sh", ref, "-c",
		"echo \"marker=$(cat "+markerPath+")\"; echo \"uname=$(uname -m)\"; echo \"args=$(cat /bkgen/args | tr '\\n' ' ')\"")
	if err != nil {
		return nil, err
	}
	in := &inside{}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "marker":
			in.Marker = v
		case "uname":
			in.Uname = v
		case "args":
			in.Args = strings.TrimSpace(v)
		}
	}
	return in, nil
}
