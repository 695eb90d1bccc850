package provider

import "github.com/bkgen/bkgen/buildenv"

// Hosted is the registry of Buildkite hosted agents: its address is
// $BUILDKITE_HOSTED_REGISTRY_URL, the agents are already logged in, and a
// step runs a job in one of its images through the image attribute.
type Hosted struct{}

func (Hosted) Name() string { return "hosted" }

func (Hosted) Fields() []Field { return nil }

func (Hosted) Check(*Config) []Problem { return nil }

func (Hosted) Scanners() []string { return pullingScanners }

func (Hosted) Access(_ *Config, env buildenv.Build) (*Access, error) {
	return &Access{
		// Commands expand it when they run, so the pipeline works wherever
		// it is uploaded from, with or without interpolation.
		Base: "${" + buildenv.HostedRegistryURLVar + "}", BaseVar: buildenv.HostedRegistryURLVar,
		BaseVarValue: env.HostedRegistryURL,
	}, nil
}
