// Package plugin is a client of the Kuzet plugin protocol v1
// (docs/plugins.md): a plugin is a program the node starts with the path of
// its own Unix socket in KUZET_PLUGIN_SOCKET, on which it reads the frames
// of the cameras it is granted and the node's events, and posts events of
// its own.
//
// A typical plugin:
//
//	c, err := plugin.Connect()
//	hello, err := c.Hello(ctx)
//	for _, cam := range hello.Cameras {
//		go func() {
//			fs, err := c.Frames(ctx, cam)
//			...
//			for {
//				f, err := fs.Next()
//				...
//				c.Post(ctx, plugin.Out{Kind: "smoke", Camera: cam, Severity: plugin.SeverityGrave})
//			}
//		}()
//	}
//
// The client does not reconnect: a stream that fails returns its error
// from Next, and the caller decides when to ask again.
package plugin
