package topology

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// ApplyFile is the file `kuzet topology apply` reads.
type ApplyFile struct {
	Nodes    []Node   `json:"nodes"`
	Zones    []Zone   `json:"zones"`
	Cameras  []Camera `json:"cameras"`
	Users    []User   `json:"users"`
	Policies []Policy `json:"policies"`
}

// ParseApplyFile reads YAML or JSON (JSON is YAML) with the API's field
// names; unknown keys are errors.
func ParseApplyFile(b []byte) (ApplyFile, error) {
	var raw any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return ApplyFile{}, fmt.Errorf("parse: %w", err)
	}
	if raw == nil {
		return ApplyFile{}, nil
	}
	j, err := json.Marshal(raw)
	if err != nil {
		return ApplyFile{}, fmt.Errorf("parse: %w (keys must be strings)", err)
	}
	var f ApplyFile
	if err := strictJSON(j, &f); err != nil {
		return ApplyFile{}, fmt.Errorf("parse: %w", err)
	}
	return f, nil
}

// ApplyRecord is one record of an ApplyFile: its kind (KindNodes, ...),
// its key and the record.
type ApplyRecord struct {
	Kind, ID string
	Record   any
}

// Records lists the file's records in an order the catalogue accepts them:
// parents before children, zones before the cameras that name them.
func (f ApplyFile) Records() []ApplyRecord {
	nodes := slices.Clone(f.Nodes)
	slices.SortStableFunc(nodes, func(a, b Node) int { return cmp.Compare(roleRank(b.Role), roleRank(a.Role)) })
	var items []ApplyRecord
	for _, n := range nodes {
		items = append(items, ApplyRecord{KindNodes, n.ID, n})
	}
	for _, z := range f.Zones {
		items = append(items, ApplyRecord{KindZones, z.ID, z})
	}
	for _, cam := range f.Cameras {
		items = append(items, ApplyRecord{KindCameras, cam.Key(), cam})
	}
	for _, u := range f.Users {
		items = append(items, ApplyRecord{KindUsers, u.Name, u})
	}
	for _, p := range f.Policies {
		items = append(items, ApplyRecord{KindPolicies, p.Node, p})
	}
	return items
}
