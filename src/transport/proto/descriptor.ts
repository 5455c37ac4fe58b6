// Generated from xrepl.proto: do not edit by hand. To regenerate after changing the .proto:
//   XREPL_UPDATE_PROTO=1 npx jest test/transport/proto.test.ts

/** The protobufjs JSON descriptor of `xrepl.proto`, for `@grpc/proto-loader`'s `fromJSON`. */
export const XREPL_PROTO = {
  nested: {
    xrepl: {
      nested: {
        v1: {
          nested: {
            Endpoint: {
              methods: {
                ListFilesystems: {
                  requestType: 'ListFilesystemsRequest',
                  responseType: 'ListFilesystemsResponse',
                },
                ListFilesystemVersions: {
                  requestType: 'ListFilesystemVersionsRequest',
                  responseType: 'ListFilesystemVersionsResponse',
                },
                Ping: {
                  requestType: 'PingRequest',
                  responseType: 'PingResponse',
                },
              },
            },
            Sender: {
              methods: {
                SendDry: {
                  requestType: 'SendRequest',
                  responseType: 'SendDryResponse',
                },
                Send: {
                  requestType: 'SendRequest',
                  responseType: 'SendMessage',
                  responseStream: true,
                },
                SendCompleted: {
                  requestType: 'SendRequest',
                  responseType: 'SendCompletedResponse',
                },
              },
            },
            Receiver: {
              methods: {
                Receive: {
                  requestType: 'ReceiveMessage',
                  requestStream: true,
                  responseType: 'ReceiveResponse',
                },
                DestroySnapshots: {
                  requestType: 'DestroySnapshotsRequest',
                  responseType: 'DestroySnapshotsResponse',
                },
              },
            },
            FilesystemVersion: {
              fields: {
                type: {
                  type: 'Type',
                  id: 1,
                },
                name: {
                  type: 'string',
                  id: 2,
                },
                guid: {
                  type: 'string',
                  id: 3,
                },
                createTxg: {
                  type: 'string',
                  id: 4,
                },
                creation: {
                  type: 'string',
                  id: 5,
                },
              },
              nested: {
                Type: {
                  values: {
                    TYPE_UNSPECIFIED: 0,
                    SNAPSHOT: 1,
                    BOOKMARK: 2,
                  },
                },
              },
            },
            EndpointFilesystem: {
              fields: {
                path: {
                  type: 'string',
                  id: 1,
                },
                isPlaceholder: {
                  type: 'bool',
                  id: 2,
                },
                resumeToken: {
                  type: 'string',
                  id: 3,
                },
                resume: {
                  type: 'ResumeTokenInfo',
                  id: 4,
                },
              },
            },
            ResumeTokenInfo: {
              fields: {
                fromGuid: {
                  type: 'string',
                  id: 1,
                },
                toGuid: {
                  type: 'string',
                  id: 2,
                },
                toName: {
                  type: 'string',
                  id: 3,
                },
                clearCommand: {
                  type: 'string',
                  id: 4,
                },
              },
            },
            ListFilesystemsRequest: {
              fields: {},
            },
            ListFilesystemsResponse: {
              fields: {
                filesystems: {
                  rule: 'repeated',
                  type: 'EndpointFilesystem',
                  id: 1,
                },
              },
            },
            ListFilesystemVersionsRequest: {
              fields: {
                filesystem: {
                  type: 'string',
                  id: 1,
                },
              },
            },
            ListFilesystemVersionsResponse: {
              fields: {
                versions: {
                  rule: 'repeated',
                  type: 'FilesystemVersion',
                  id: 1,
                },
              },
            },
            PingRequest: {
              fields: {},
            },
            PingResponse: {
              fields: {
                role: {
                  type: 'Role',
                  id: 1,
                },
              },
              nested: {
                Role: {
                  values: {
                    ROLE_UNSPECIFIED: 0,
                    SENDER: 1,
                    RECEIVER: 2,
                  },
                },
              },
            },
            SendRequest: {
              fields: {
                filesystem: {
                  type: 'string',
                  id: 1,
                },
                from: {
                  type: 'FilesystemVersion',
                  id: 2,
                },
                to: {
                  type: 'FilesystemVersion',
                  id: 3,
                },
                resumeToken: {
                  type: 'string',
                  id: 4,
                },
              },
            },
            SendDryResponse: {
              fields: {
                expectedSize: {
                  type: 'uint64',
                  id: 1,
                },
              },
            },
            SendHeader: {
              fields: {
                usedResumeToken: {
                  type: 'bool',
                  id: 1,
                },
              },
            },
            SendMessage: {
              oneofs: {
                message: {
                  oneof: ['header', 'chunk'],
                },
              },
              fields: {
                header: {
                  type: 'SendHeader',
                  id: 1,
                },
                chunk: {
                  type: 'bytes',
                  id: 2,
                },
              },
            },
            SendCompletedResponse: {
              fields: {},
            },
            ReceiveHeader: {
              fields: {
                filesystem: {
                  type: 'string',
                  id: 1,
                },
                to: {
                  type: 'FilesystemVersion',
                  id: 2,
                },
                clearResumeToken: {
                  type: 'bool',
                  id: 3,
                },
              },
            },
            ReceiveMessage: {
              oneofs: {
                message: {
                  oneof: ['header', 'chunk'],
                },
              },
              fields: {
                header: {
                  type: 'ReceiveHeader',
                  id: 1,
                },
                chunk: {
                  type: 'bytes',
                  id: 2,
                },
              },
            },
            ReceiveResponse: {
              fields: {},
            },
            SnapshotRef: {
              fields: {
                name: {
                  type: 'string',
                  id: 1,
                },
                guid: {
                  type: 'string',
                  id: 2,
                },
              },
            },
            DestroySnapshotsRequest: {
              fields: {
                filesystem: {
                  type: 'string',
                  id: 1,
                },
                snapshots: {
                  rule: 'repeated',
                  type: 'SnapshotRef',
                  id: 2,
                },
                dryRun: {
                  type: 'bool',
                  id: 3,
                },
              },
            },
            KeptSnapshot: {
              fields: {
                name: {
                  type: 'string',
                  id: 1,
                },
                reason: {
                  type: 'string',
                  id: 2,
                },
              },
            },
            DestroySnapshotsResponse: {
              fields: {
                destroyed: {
                  rule: 'repeated',
                  type: 'string',
                  id: 1,
                },
                kept: {
                  rule: 'repeated',
                  type: 'KeptSnapshot',
                  id: 2,
                },
              },
            },
          },
        },
      },
    },
  },
};
