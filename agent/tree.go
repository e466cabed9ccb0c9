package agent

import "github.com/kuzet/kuzet/federation"

// Tree builds the hierarchy as this node observes it (GET /api/v1/tree):
// its own cameras as the site reports them, its children as the links do.
func (a *Agent) Tree() *federation.ObservedNode {
	var own []federation.CameraState
	for _, st := range a.site.Status() {
		c, _ := a.camera(st.ID)
		own = append(own, federation.CameraState{ID: st.ID, State: string(st.State), Reason: st.Reason, Sub: c.SubPath != "",
			Codec: st.Codec})
	}
	var children []federation.ChildStatus
	if a.fedSrv != nil {
		children = a.fedSrv.Children()
	}
	root := a.tree.Hierarchy(own, children)
	a.addHealth(root)
	return root
}
