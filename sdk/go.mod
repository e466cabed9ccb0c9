module github.com/kuzet/kuzet/sdk

go 1.26.8
