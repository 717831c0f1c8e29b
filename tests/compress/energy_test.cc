// The energy model (compress/energy.h) against hand-worked answers: every expected number below is
// written out from the formulas of docs/ENERGY.md with Horowitz's 45 nm prices, not computed by the
// code under test.
#include "compress/energy.h"

#include <gtest/gtest.h>

#include <cmath>

namespace deepcomp::compress {
namespace {

// A 3000 x 1000 fc layer: 3e6 fp32 weights = 12 MB, more than the 8 MiB on-chip default.
LayerWork big_fc() {
  LayerWork l;
  l.name = "fc.weight";
  l.kind = "fc";
  l.weights = 3'000'000;
  l.positions = 1;
  l.in_elements = 1000;
  l.out_elements = 3000;
  l.dense_bits = 32.0 * 3'000'000;
  l.compressed_bits = 32.0 * 3'000'000;
  l.nonzero = 3'000'000;
  return l;
}

TEST(Energy, DenseFcOffChipCostsDramPlusMacPerWeightPlusActivations) {
  auto e = inference_energy({big_fc()}, EnergyPrices{}, 1);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_FALSE(e->dense_on_chip);
  // 3e6 x (640 + 3.7 + 0.9) + (1000 + 3000) x 5 = 1,933,800,000 + 20,000
  EXPECT_DOUBLE_EQ(e->dense_pj, 1'933'820'000.0);
  ASSERT_EQ(e->layers.size(), 1u);
  EXPECT_DOUBLE_EQ(e->layers[0].dense_weight_pj, 1'920'000'000.0);
  EXPECT_DOUBLE_EQ(e->layers[0].activation_pj, 20'000.0);
  EXPECT_DOUBLE_EQ(e->layers[0].macs, 3e6);
}

// Conv 3 -> 4 channels, 3x3 kernel, pad 1, on an 8x8 input: 256 outputs x 27 MACs each = 6912.
LayerWork small_conv() {
  LayerWork l;
  l.name = "conv.weight";
  l.kind = "conv";
  l.weights = 4 * 3 * 3 * 3;
  l.positions = 8 * 8;
  l.in_elements = 3 * 8 * 8;
  l.out_elements = 4 * 8 * 8;
  l.dense_bits = 32.0 * 108;
  l.compressed_bits = 32.0 * 108;
  l.nonzero = 108;
  return l;
}

TEST(Energy, ConvMacsAreWeightsTimesOutputPositions) {
  auto e = inference_energy({small_conv()}, EnergyPrices{}, 1);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_TRUE(e->dense_on_chip);
  EXPECT_DOUBLE_EQ(e->layers[0].macs, 6912.0);
  // weights from SRAM 108 x 5 = 540; arithmetic 6912 x 4.6 = 31795.2; activations 448 x 5 = 2240
  EXPECT_NEAR(e->dense_pj, 540.0 + 31'795.2 + 2240.0, 1e-9);
}

TEST(Energy, OnChipSizeDecidesSramOrDram) {
  EnergyPrices prices;
  prices.on_chip_bytes = 432;  // exactly the conv layer's 108 x 4 bytes: fits
  auto fits = inference_energy({small_conv()}, prices, 1);
  ASSERT_TRUE(fits.ok());
  EXPECT_TRUE(fits->dense_on_chip);
  EXPECT_DOUBLE_EQ(fits->layers[0].dense_weight_pj, 108 * 5.0);
  prices.on_chip_bytes = 431;
  auto spills = inference_energy({small_conv()}, prices, 1);
  ASSERT_TRUE(spills.ok());
  EXPECT_FALSE(spills->dense_on_chip);
  EXPECT_DOUBLE_EQ(spills->layers[0].dense_weight_pj, 108 * 640.0);
  // Only the weight fetch changes.
  EXPECT_NEAR(spills->dense_pj - fits->dense_pj, 108 * (640.0 - 5.0), 1e-9);
}

TEST(Energy, BatchAmortizesWeightFetchOnly) {
  auto e = inference_energy({big_fc()}, EnergyPrices{}, 4);
  ASSERT_TRUE(e.ok());
  // 3e6 x 640 / 4 + 3e6 x 4.6 + 20,000
  EXPECT_DOUBLE_EQ(e->dense_pj, 480'000'000.0 + 13'800'000.0 + 20'000.0);
}

LayerWork compressed_fc() {
  LayerWork l = big_fc();
  l.nonzero = 300'000;
  l.index_entries = 310'000;  // 10,000 fillers
  l.index_bits = 5;
  l.shared = true;
  l.compressed_bits = 1'600'000;  // 200 KB: fits on chip
  return l;
}

TEST(Energy, CompressedLayerPricesBitsNonzerosLookupsAndIndexAdds) {
  auto e = inference_energy({compressed_fc()}, EnergyPrices{}, 1);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_FALSE(e->dense_on_chip);
  EXPECT_TRUE(e->compressed_on_chip);
  const LayerEnergy& l = e->layers[0];
  EXPECT_DOUBLE_EQ(l.compressed_weight_pj, 50'000 * 5.0);  // 1.6e6 bits = 50,000 words from SRAM
  EXPECT_NEAR(l.compressed_arith_pj, 300'000 * 4.6, 1e-6);
  EXPECT_DOUBLE_EQ(l.codebook_pj, 300'000 * 5.0);
  EXPECT_NEAR(l.index_pj, 310'000 * 0.03, 1e-9);
  EXPECT_NEAR(e->compressed_pj, 250'000 + 1'380'000 + 1'500'000 + 9'300 + 20'000, 1e-6);
  EXPECT_NEAR(e->ratio(), 1'933'820'000.0 / 3'159'300.0, 1e-9);
}

TEST(Energy, WideRelativeIndicesUseThe32BitAddPrice) {
  LayerWork l = compressed_fc();
  l.index_bits = 12;
  auto e = inference_energy({l}, EnergyPrices{}, 1);
  ASSERT_TRUE(e.ok());
  EXPECT_NEAR(e->layers[0].index_pj, 310'000 * 0.1, 1e-9);
}

TEST(Energy, CompressedBatchAmortizesFetchLookupsAndIndexButNotArithmetic) {
  auto e = inference_energy({compressed_fc()}, EnergyPrices{}, 10);
  ASSERT_TRUE(e.ok());
  EXPECT_NEAR(e->compressed_pj, 25'000 + 1'380'000 + 150'000 + 930 + 20'000, 1e-6);
}

TEST(Energy, UnsharedUnprunedLayerHasNoLookupsOrIndexAdds) {
  auto e = inference_energy({big_fc()}, EnergyPrices{}, 1);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->layers[0].codebook_pj, 0);
  EXPECT_EQ(e->layers[0].index_pj, 0);
  EXPECT_DOUBLE_EQ(e->compressed_pj, e->dense_pj);
}

TEST(Energy, BiasAddsOneFaddPerOutputAndIsReadAsWeightBits) {
  LayerWork l = small_conv();
  l.bias = 4;
  l.dense_bits += 32 * 4;
  l.compressed_bits += 32 * 4;
  auto e = inference_energy({l}, EnergyPrices{}, 1);
  ASSERT_TRUE(e.ok());
  // 112 words x 5 + 6912 x 4.6 + 256 x 0.9 + 2240
  EXPECT_NEAR(e->dense_pj, 560.0 + 31'795.2 + 230.4 + 2240.0, 1e-9);
}

TEST(Energy, WholeModelDecidesOnChipNotEachLayer) {
  EnergyPrices prices;
  prices.on_chip_bytes = 600;  // each conv (432 B) fits alone, two do not
  auto e = inference_energy({small_conv(), small_conv()}, prices, 1);
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->dense_on_chip);
  EXPECT_DOUBLE_EQ(e->dense_weight_bytes, 864.0);
  EXPECT_DOUBLE_EQ(e->layers[1].dense_weight_pj, 108 * 640.0);
}

TEST(Energy, RejectsBadPricesBatchAndCounts) {
  EnergyPrices prices;
  prices.fmul_pj = -1;
  auto bad_price = inference_energy({big_fc()}, prices, 1);
  ASSERT_FALSE(bad_price.ok());
  EXPECT_NE(bad_price.status().message().find("--fmul-pj"), std::string::npos);
  EXPECT_FALSE(inference_energy({big_fc()}, EnergyPrices{}, 0).ok());
  LayerWork l = big_fc();
  l.nonzero = l.weights + 1;
  auto bad_layer = inference_energy({l}, EnergyPrices{}, 1);
  ASSERT_FALSE(bad_layer.ok());
  EXPECT_NE(bad_layer.status().message().find("fc.weight"), std::string::npos);
}

TEST(Energy, DeploymentFootprintIsJoulesTimesInferencesTimesPueAtGridIntensity) {
  // 2 ms x 50 W = 0.1 J; 0.5 ms x 50 W = 0.025 J
  EXPECT_DOUBLE_EQ(joules_from_latency(2, 50), 0.1);
  auto f = deployment_footprint(0.1, 0.025, 1.58, 0.4327, 1e6);
  ASSERT_TRUE(f.ok());
  // 0.1 J x 1e6 x 1.58 = 158,000 J = 158,000 / 3.6e6 kWh
  EXPECT_NEAR(f->dense_kwh, 0.043888888888888889, 1e-15);
  EXPECT_NEAR(f->compressed_kwh, 0.010972222222222222, 1e-15);
  EXPECT_NEAR(f->dense_kg_co2e, 0.043888888888888889 * 0.4327, 1e-15);
  EXPECT_NEAR(f->saving_kwh(), 0.032916666666666667, 1e-15);
  EXPECT_NEAR(f->saving_kg_co2e(), 0.032916666666666667 * 0.4327, 1e-15);
  EXPECT_FALSE(deployment_footprint(0.1, 0.025, -1, 0.4327, 1e6).ok());
}

TEST(Energy, DownloadFootprintIsGigabytesTimesDownloadsTimesKwhPerGb) {
  // 1 GB and 25 MB to a million devices at 0.06 kWh/GB.
  auto f = download_footprint(1e9, 25e6, 1e6, 0.06, 0.4327);
  ASSERT_TRUE(f.ok());
  EXPECT_NEAR(f->dense_kwh, 60'000.0, 1e-6);
  EXPECT_NEAR(f->compressed_kwh, 1'500.0, 1e-9);
  EXPECT_NEAR(f->dense_kg_co2e, 25'962.0, 1e-6);
  EXPECT_NEAR(f->saving_kwh(), 58'500.0, 1e-6);
  EXPECT_FALSE(download_footprint(1e9, 25e6, 1e6, std::nan(""), 0.4327).ok());
}

}  // namespace
}  // namespace deepcomp::compress
