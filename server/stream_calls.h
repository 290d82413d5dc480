// The streaming RPCs: CompressStream cuts the incoming bytes into segments and
// answers one frame per segment; DecompressStream finds the frames in the
// incoming bytes (their headers give their lengths) and answers the decoded
// bytes. One operation at a time per call (read, model work, write), so memory
// per call stays bounded by a segment or a frame.
#ifndef LMC_SERVER_STREAM_CALLS_H_
#define LMC_SERVER_STREAM_CALLS_H_

#include "lmc/v1/compressor.grpc.pb.h"

namespace lmc {

class CompressorService;

grpc::ServerBidiReactor<v1::CompressRequest, v1::CompressResponse>* NewCompressStreamCall(
    grpc::CallbackServerContext* ctx, CompressorService* service);
grpc::ServerBidiReactor<v1::DecompressRequest, v1::DecompressResponse>*
NewDecompressStreamCall(grpc::CallbackServerContext* ctx, CompressorService* service);

}  // namespace lmc

#endif  // LMC_SERVER_STREAM_CALLS_H_
