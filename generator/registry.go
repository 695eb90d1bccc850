package generator

import (
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/spec"
)

// access is how steps reach one registry, as its provider says.
type access struct {
	*provider.Access
	registry *spec.Registry
	plugins  []Plugin // plugins that log in (or get credentials) before the command
}

func (g *gen) access(r *spec.Registry) (*access, error) {
	a, err := r.Provider.Access(r.Config, g.in.Env)
	if err != nil {
		return nil, err
	}
	out := &access{Access: a, registry: r}
	for _, p := range a.Plugins {
		out.plugins = append(out.plugins, Plugin{Source: p.Source, Config: p.Config})
	}
	return out, nil
}

// baseFilled is a reference under the registry with its variable filled in
// from the environment, as the upload fills it in; false when it is not set.
func (a *access) baseFilled(ref string) (string, bool) {
	if a.BaseVar == "" {
		return ref, true
	}
	v := a.BaseVarValue
	return v + ref[len(a.Base):], v != ""
}
